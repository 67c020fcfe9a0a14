# ruff: noqa: E501 - markdown tables in the texts below must stay one row per line
"""What docs/benchmarks.md says besides the table: how each case measures, and, for each case
whose goal a run misses, why (from profiles: py-spy on the server during the case) and what would
close it. bench/run.py prints a miss's text only for goals that the run actually missed.

The shares quoted come from py-spy 0.4 profiles (200 Hz) taken on this machine; ``--gil`` shares
are of the server's Python CPU (the thread holding the GIL), ``--idle`` shares are of wall time
of the threads named. Profiling commands are in the README of this directory (bench/README.md).
"""

from __future__ import annotations

METHOD = """\
## How each case measures

The full run (`make bench`) took 3 to 5 minutes on this machine (this run's time is above);
`--tiny` (CI) about 25 s. Every baseline is a real program run in the same bench run, next to
tusk's figure; where both sides are cheap they alternate (best of each), so the neighbours' load
drifting during the run hits both sides alike.

| case | what | size (full / tiny) | baseline |
|---|---|---|---|
| job_overhead | FinishCommit of a fresh input commit -> the job's SUCCESS message on a WaitJob stream opened before; median of 15 (first one dropped) | 15 / 2 samples | `subprocess.run(["true"])`, median |
| dag_latency | the same for a chain of 5 pipelines, one datum each (each stage copies its file: `sh -c 'cp "$in" out/'`, so the next stage has one datum too); median of 7 | 7 / 1 | 5 x a single pipeline with the same command, measured on the same server |
| datum_throughput | FinishCommit -> SUCCESS of a job of N one-line files, glob `/*`, `true`, parallelism 2, 2 datum workers | N = 5,000 / 40 | the same N `true` in a plain 2-worker ThreadPoolExecutor (best of one run just before the job and one just after) |
| incremental_job | after that job, change 1 file and commit: the new job's time over the first job's (one N-datum run shared with datum_throughput, bench/numbers_job.py) | 5,000 / 40 | the first job |
| history_scale | ListJob first page (50, newest first), median of 200, and server RSS, at 100,000 jobs vs 1,000 jobs on the same data directory. **Bulk path**: with the server stopped, finished jobs are written in-process through the store's PPS interface (`PpsTx.insert_job` + `save_job`), each walked CREATED -> STARTING -> RUNNING -> FINISHING -> SUCCESS by `domain.jobs.transition` with one history entry per step, 1,000 per transaction (35 to 100 s for 100,000, with the machine's load); they have no PFS commits behind them (ListJob without details reads none). A copy of the data directory is taken at 1,000 jobs; two servers (`bench/serve_proc.py`, own processes) then run side by side on the copy and on the 100,000-job directory and are queried alternately, 10 rounds | 100,000 vs 1,000 / 600 vs 60 | the 1,000-job server |
| upload | one 1 GiB file through ModifyFile (4 MiB AddFile chunks, one stream) into a server in its own process; peak RSS growth with VmHWM reset (`/proc/PID/clear_refs`) just before the upload | 1 GiB / 16 MiB | plain `write` + `fsync` of the same bytes on the same filesystem (the blob store fsyncs too); median of three, one before the upload and two after |
| inspect_job | InspectJob calls/s, 8 caller threads in the bench process, server in its own process; the seed's `edges` job (1.1 KB as JSON with `details`); 3 rounds alternating with the baseline, best of each | 8 x 400 x 3 / 8 x 20 | `bench/bare_proc.py`: a bare grpcio server in its own process answering the same serialized JobInfo |
| waitjob_fanout | 1,000 grpc.aio WaitJob streams (10 channels) on one job; per change: last subscriber's arrival minus the server's `started`/`finished` stamp of the change; 3 rounds x 2 changes (RUNNING, SUCCESS); RSS with the streams open (server in its own process, max_streams_per_kind 1,100) | 1,000 streams / 20 | `bench/bare_proc.py --fanout`: a bare grpcio server whose 1,000 stream handlers block on one condition and each send the same WaitJobResponse bytes when notified |
| load_mix | 50 clients (own channel each), each following the job with one WaitJob stream and looping ListJob page / InspectJob / ListDatum page / 64-byte put / WaitJob first message, while a 2,000-datum `true` job runs (server in its own process) | 50 clients, 2,000 datums / 6, 40 | the same mix for 15 s on the idle server (the job done) |
| rpc_overhead | GetVersion calls/s, 8 callers, server in-process; 3 alternating rounds, best of each | 8 x 400 x 3 / 8 x 20 | bare grpcio server in-process answering the same bytes |

The machine is shared: other sessions' tests and profilers run at the same time, so figures move
between runs (this run's load average is printed above): a goal near its line can flip from one
run to the next. Ratios against a
baseline measured in the same run are what to compare, not the absolute figures.
"""

MISSED: dict[str, str] = {
    "datum_throughput": """\
**datum_throughput** (profiled at af37bb2: the helper spawns with `posix_spawn` and wakes the
engine once per attempt; at 44b1dbe, with `subprocess.Popen` and a wake-up per message, the job
ran ~180 datums/s and Popen was 57% of the helper's wall time). The server is not CPU-bound:
py-spy `--gil` shows its Python busy ~16% of the job's wall time. Each worker slot's wall time
(py-spy `--idle`, `JobRunner._run_datum`): 86% in `Sandbox._attempt`, almost all of it
(`_Supervisor.pump`) waiting for the helper's end-of-attempt event; 14% between attempts
(`JobSpace.prepare` 7.5%, `_Helper.send` 7%, recording 5%). The helper (engine/zygote.py): 43%
of its wall time in `os.posix_spawn` of the user command, 46% in `poll` (the child running,
then waiting for the engine's next request). The spawn itself is at the machine's cost (a bare
`posix_spawn` + `waitpid` of `true` measured 1.6 to 2.0 ms at the same time, with or without a
mount namespace and `setsigdef`); what the thread-pool floor does not pay is the turnaround
between attempts, during which the slot's helper is idle. What would close it: overlap that
turnaround with the running attempt: prepare the next datum's workspace and queue its `run` in
the helper while the current attempt runs, so the helper spawns the next command the moment the
previous one exits (the exit report and the recording follow asynchronously), and each slot's
user processes run back to back as in the floor.""",
    "waitjob_fanout": """\
**waitjob_fanout** (profiled at 2a1e89e, where watchers read changes from memory). The store is
out of the fan-out path now (before 2a1e89e every waiter re-read the store on a fresh SQLite
connection: `SqlitePpsTx.get_job` was 46% of the server's CPU and p99 was 4 to 6 s). py-spy
`--gil` during a change: the server's Python is busy only ~12% of the wall time; grpcio's send
path (`_send_response`) is 40% of that, tusk's WaitJob handler 12%, half of it `job_info`
converting the same JobInfo once per waiter. Per change: RUNNING reaches the first subscriber
9 ms after the server's stamp and the last 0.83 s after; SUCCESS reaches the first 0.34 s after
its stamp (the stamp is taken inside the terminal write transaction, before the output commit is
written and COMMIT fsyncs) and the last 0.68 s after. The bare grpcio floor, the same 1,000
streams woken by one condition, is 0.4 to 0.7 s here. What would close it: (1) convert and
serialize each change once per target, not once per waiter (cache the JobInfo by (job, seq));
(2) serve WaitJob from an asyncio (grpc.aio) servicer: one event loop writes the same bytes to
1,000 streams instead of 1,000 threads each woken by `notify_all` and each taking the GIL for a
blocking send (it also frees the 1,000 thread stacks: ~70 KiB RSS per stream); (3) take the
terminal stamp after the output commit is written (nearer to the COMMIT), or publish sooner.""",
    "inspect_job": """\
**inspect_job** (profiled at 562d8e9, with the details cache of 306e587 and the remembered input
commits of 562d8e9; before them `details` cost 27% of the server's CPU in spec parsing and
PFS reads). py-spy `--gil`: tusk's InspectJob handler is ~18% of the server's Python CPU, the
rest is grpcio's own server path (the same as the bare server's), and the server's Python is
busy only ~25% of the wall time. py-spy `--idle` on the handler: ~70% of its wall time is the
store's read transaction, four SQLite calls (`BEGIN` 26%, the SELECT and fetch 31%, `ROLLBACK`
12%; store/sqlite.py `SqliteStore.read`, store/sqlite_pps.py `get_job`), although those four calls
take ~20 us in isolation with 8 threads: under load each one hands the GIL over and waits to get
it back. (A shorter switch interval does not help: 0.5 ms gave 1,857 calls/s against 2,249 at the
default 5 ms.) What would close it: answer InspectJob without `wait` from memory, with no SQLite
call: the latest state of recently changed jobs is already kept for WaitJob (`RecentChanges`,
2a1e89e); a small cache of job rows by key, replaced on every committed change, would make
InspectJob a pure conversion. Since then the lookup runs as one autocommit statement (no
`BEGIN`/`ROLLBACK`) and an unchanged job's converted JobInfo is reused: the handler is ~90 us a
call (profiled in-process). On a quiet machine the bare floor speeds up more than tusk does
(3.7-5.1k calls/s), so the ratio falls to ~0.5-0.65: the rest is grpcio-python's own per-call
work that the floor skips (it answers with pre-serialized bytes and never parses the request).
Removing the error interceptor entirely made no measurable difference (0.55/0.66 vs 0.64/0.60).
Closing it needs the request path off Python threads (grpc.aio) or a native front end.""",
    "rpc_overhead": """\
**rpc_overhead.** Fixed in 306e587 (before it, `importlib.metadata.version` re-parsed the
package METADATA on every GetVersion: 30% of the process's CPU; and the error interceptor
wrapped every handler per call). This case runs the server in the bench process, so the 8
callers and the server share one GIL: a miss here after 306e587 is most likely the neighbours'
load; run it alone (`--only rpc_overhead`) to check.""",
    "upload": """\
**upload** (profiled at aed934e). Receiving and writing alternate on one thread: py-spy `--idle` on the ModifyFile
handler thread: ~51% waiting for the next 4 MiB message (`RawChunks.chunks` ->
`_checked_stream`), ~40% in the blob file's `write` and ~9% in SHA-256
(`LocalBlobStore._put_stream`, blobs/local.py), then one `fsync`. The plain write does only the
`write`s. What would close it: overlap them (a reader thread filling a bounded queue of a few
chunks while the handler hashes and writes), which hides most of the receive time. The ratio
also swings with this VM's disk: a plain 1 GiB write + fsync took 0.6 s in one run and 4 s in
the next, while the upload stays near 6 s (receive-bound), hence the median of three plain writes.
**Peak RSS**: growth is usually 60 to 75 MiB during the 1 GiB upload and went over 100 MiB once
(106 MiB). It is buffers, not the file: RSS falls back after the upload. With glibc's mmap
threshold pinned (`MALLOC_MMAP_THRESHOLD_=1048576` in the server's environment) the same upload
peaked at 37 and 57 MiB against 72 and 73 MiB without, in alternating runs: freed 4 MiB message
buffers are kept by glibc's dynamic mmap threshold (each of grpcio's and the handler's threads can
hold an arena full of them). What would close it: `mallopt(M_MMAP_THRESHOLD, 1 MiB)` at server
start (or the environment variable in the service unit), and bounding the messages in flight per
ModifyFile stream.""",
    "incremental_job": """\
**incremental_job** (profiled at bdda4c1, with the incremental plan of engine/job_plan.py). The
second job plans only the changed file's datum (from the input commits' unshared file layers)
and carries the other 4,999 from the previous job as SKIPPED rows in SQL: its Python CPU on the
server fell from ~0.4 s to ~0.05 s per job (py-spy `--gil`, five jobs each). Where the job
thread's wall time goes now (py-spy `--idle`, five jobs, load ~8 on 2 cores): the carry's two
`INSERT ... SELECT` (rows, then outputs; `carry_skipped_datums`) 23% and the commit of that
transaction 26% -- the carry is still O(repo) rows, only cheap per row; the output check and
merge reading every datum again (`JobOutput.merged_outputs`: six `datum_hashes` queries, one
per state) 17%; waiting for the input commit 13%; running the one datum 14%. What would close
the rest: the output check's states in one query (or counted in SQL); a job's datum rows
inherited from the previous job instead of copied; the output commit written as the previous
output plus the changed datums' outputs instead of walked whole.""",
}

# Printed in every full run, whatever the goals say: findings a "met" does not show.
NOTES: str = """\
## Other findings

**load_mix** (no numeric goal beyond zero errors and every WaitJob terminal; latency is the
finding; profiled at 562d8e9). p99 is seconds, with or without the job running; ListDatum and
puts are the slow operations (in a 50-client, 800-datum profile run: ListDatum p50 2.0 s, p99
4.3 s; put p50 0.36 s, p99 1.9 s; InspectJob p50 71 ms). py-spy `--idle` on the server:
ModifyFile spends ~54% of its wall time waiting for the store's single writer lock
(`with self._write_lock` in `SqliteStore.write`, store/sqlite.py: one fsync per transaction at
synchronous=FULL, shared with the engine's progress writes); ListDatum spends ~34% materializing
the page's rows (`SqlitePpsTx.list_datums`, `inputs_json` decoded per row), ~32% in
`JobService.get` (a separate read transaction for the job row before the page's own), ~18% in
`datum_info` conversion. What would close it: group commit (one fsync for the write transactions
queued at the same moment, as SQLite WAL allows with one writer connection batching them); read
the job row and the page in one read transaction; decode datum inputs only for what is sent.
"""
