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

The full run (`make bench`) takes about 5 to 6 minutes on this machine; `--tiny` (CI) about 25 s.
Every baseline is a real program run in the same process run, just before or after tusk.

| case | what | size (full / tiny) | baseline |
|---|---|---|---|
| job_overhead | FinishCommit of a fresh input commit -> the job's SUCCESS message on a WaitJob stream opened before; median of 15 (first one dropped) | 15 / 2 samples | `subprocess.run(["true"])`, median |
| dag_latency | the same for a chain of 5 pipelines, one datum each (each stage copies its file: `sh -c 'cp "$in" out/'`, so the next stage has one datum too); median of 7 | 7 / 1 | 5 x a single pipeline with the same command, measured on the same server |
| datum_throughput | FinishCommit -> SUCCESS of a job of N one-line files, glob `/*`, `true`, parallelism 2, 2 datum workers | N = 5,000 / 40 | the same N `true` in a plain 2-worker ThreadPoolExecutor |
| incremental_job | after that job, change 1 file and commit: the new job's time over the first job's (one N-datum run shared with datum_throughput, bench/numbers_job.py) | 5,000 / 40 | the first job |
| history_scale | ListJob first page (50, newest first), median of 200, and server RSS, at 100,000 jobs vs 1,000 jobs on the same data directory. **Bulk path**: with the server stopped, finished jobs are written in-process through the store's PPS interface (`PpsTx.insert_job` + `save_job`), each walked CREATED -> STARTING -> RUNNING -> FINISHING -> SUCCESS by `domain.jobs.transition` with one history entry per step, 1,000 per transaction (~40 s for 100,000); they have no PFS commits behind them (ListJob without details reads none). The server then runs as its own process (`bench/serve_proc.py`) | 100,000 vs 1,000 / 600 vs 60 | the 1,000-job figure |
| upload | one 1 GiB file through ModifyFile (4 MiB AddFile chunks, one stream) into a server in its own process; peak RSS growth with VmHWM reset (`/proc/PID/clear_refs`) just before the upload | 1 GiB / 16 MiB | plain `write` + `fsync` of the same bytes on the same filesystem (best of one before and one after; the blob store fsyncs too) |
| inspect_job | InspectJob calls/s, 8 caller threads in the bench process, server in its own process; the seed's `edges` job (1.1 KB as JSON with `details`) | 8 x 1,000 / 8 x 20 | `bench/bare_proc.py`: a bare grpcio server in its own process answering the same serialized JobInfo |
| waitjob_fanout | 1,000 grpc.aio WaitJob streams (10 channels) on one job; per change: last subscriber's arrival minus the server's `started`/`finished` stamp of the change; 3 rounds x 2 changes (RUNNING, SUCCESS); RSS with the streams open (server in its own process, rpc_workers 1,200) | 1,000 streams / 20 | `bench/bare_proc.py --fanout`: a bare grpcio server whose 1,000 stream handlers block on one condition and each send the same WaitJobResponse bytes when notified |
| load_mix | 50 clients (own channel each), each following the job with one WaitJob stream and looping ListJob page / InspectJob / ListDatum page / 64-byte put / WaitJob first message, while a 2,000-datum `true` job runs (server in its own process) | 50 clients, 2,000 datums / 6, 40 | the same mix for 15 s on the idle server (the job done) |
| rpc_overhead | GetVersion calls/s, 8 callers, server in-process | 8 x 1,000 | bare grpcio server in-process answering the same bytes |

The machine is shared: other sessions' tests and profilers run at the same time, so figures move
between runs (the load average before and after the run is printed below). Ratios against a
baseline measured in the same run are what to compare, not the absolute figures.
"""

MISSED: dict[str, str] = {
    "datum_throughput": """\
**datum_throughput.** The job is bound by per-datum latency, not by server CPU: py-spy `--gil`
shows the server's Python busy only ~20% of the job's wall time. Per datum, the worker thread
(`JobRunner._run_datum`) spends ~95% of its wall time in `Sandbox._attempt`
(engine/sandbox.py): ~72% waiting in `_Helper.receive` for the zygote's replies and ~20% in
`_Supervisor.pump` draining the attempt's output pipe to EOF. The zygote (engine/zygote.py)
spends ~57% of its wall time in `subprocess.Popen` (`Zygote._run` -> `_execute_child`, blocking
until the child has exec'd) and ~39% polling for the child's exit. What would close it:
(1) spawn with `os.posix_spawn(..., setsid=True)` in `Zygote._run` instead of `subprocess.Popen`:
measured in a mount namespace on this machine, 0.96 ms vs 1.78 ms per `true` (interleaved A/B);
(2) let the zygote write the attempt's stdout/stderr to the datum's log file itself, so the
engine need not pump a pipe to EOF (~20% of the datum's wall time); (3) pipeline each slot:
send the next datum's `run` while the previous attempt's sweep/record finishes, so two user
processes are always running (today a slot idles for the exit reply, the pump's EOF and the
batch record between datums).""",
    "waitjob_fanout": """\
**waitjob_fanout.** Every waiter re-reads the store on every change, each on a fresh SQLite
connection: `SqliteStore` keeps at most 8 idle read connections (`max_idle_readers=8`,
store/sqlite.py), so when 1,000 WaitJob threads wake together ~1,000 connections are opened
(`_connect`: 4 PRAGMAs) and the first statement on each re-parses the 38-object schema, then all
but 8 are closed again. py-spy `--gil` on the server during a change: `JobService._history`
75% of the server's CPU, of which `SqlitePpsTx.get_job` 46% (the first query on a new
connection) and `SqliteStore._connect` 8%; `from_snapshot` JSON 8.5%. Measured: a read on a fresh
connection 0.63 ms, on a pooled one 0.007 ms. The RUNNING change is the slow one: STARTING and
RUNNING land back to back, so every waiter wakes and reads twice. What would close it: (1)
keep read connections for as many concurrent readers as there are RPC threads (raise
`max_idle_readers`; an idle connection costs its page cache, up to 2 MB by default), or give each
RPC thread its own long-lived read connection; (2) better, read a change
once and fan it out: the hub (services/events.py) carries (topic, seq) and one reader per target
loads the snapshot once and hands the same JobInfo (converted, even serialized, once) to every
waiter, so 1,000 waiters cost one read and one conversion per change instead of 1,000.""",
    "inspect_job": """\
**inspect_job (with details).** Without details InspectJob is near the floor; `details` adds,
on every call, `JobRpcs.job_details` (transport/pps_jobs.py) = ~27% of the server's CPU
(py-spy `--gil`): `JobQueries.input_commits` -> `PfsService.inspect_commit` 14%,
`PipelineService.spec` -> `spec_from_dict` (JSON parse of the stored spec) 7%, `details_proto`
3.5%. Both results are immutable (a pipeline version's spec never changes; a job's input
commits are fixed when it is created). What would close it: a small LRU in the servicer keyed by
(project, pipeline, version) for the converted Details and by job for its input commits; then
InspectJob with details costs what it costs without.""",
    "rpc_overhead": """\
**rpc_overhead.** GetVersion re-reads tusk's installed package metadata on every call:
`describe()` -> `tusk_version()` (server/tuskd/version.py) calls `importlib.metadata.version`,
which opens and parses the METADATA file with the email parser. py-spy `--gil`: 30% of the
process's CPU (server and the 8 callers share the process in this case), about 40% of the
server side. What would close it: compute the version once (`functools.cache` on
`tusk_version`, or a module constant at import).""",
    "upload": """\
**upload.** Receiving and writing alternate on one thread: py-spy `--idle` on the ModifyFile
handler thread: ~51% waiting for the next 4 MiB message (`RawChunks.chunks` ->
`_checked_stream`), ~40% in the blob file's `write` and ~9% in SHA-256
(`LocalBlobStore._put_stream`, blobs/local.py), then one `fsync`. The plain write does only the
`write`s. What would close it: overlap them (a reader thread filling a bounded queue of a few
chunks while the handler hashes and writes), which hides most of the receive time.""",
    "incremental_job": """\
**incremental_job.** The second job still does per-datum Python work for all 5,000 datums,
although 4,999 are skipped; py-spy `--gil` on the server during five incremental jobs (each ~0.4
to 0.8 s): `plan_datums` (domain/datums.py) 37% of the server's CPU (the PFS walk of every file,
`PfsService._walk_infos`, 19%; the planner's index 20%; `datum_id` 8%); building a `DatumRow` for
every datum, skipped ones included (`JobRunner._datum_row`, engine/job_runner.py) 30%, half of it
`json.dumps` of each datum's inputs; `upsert_datums` of 5,000 rows 7%. The ratio also worsens as
the engine gets faster: the first job's time is the denominator. What would close it: plan from
the input commit's diff against the previous job's input commit (only changed paths get new
datums); carry the skipped datums' rows in SQL (`INSERT ... SELECT` from the previous job's rows)
instead of building 5,000 Python rows with JSON.""",
    "load_mix": """\
**load_mix.** No numeric goal beyond zero errors; latency under load is high. py-spy `--idle`
on the server: ModifyFile spends ~68% of its wall time waiting for the store's single writer
lock (`SqliteStore.write`, one fsync per transaction at synchronous=FULL, shared with the engine's
progress writes); ListDatum spends ~61% in `DatumQueries._list` (rows materialized and
`inputs_json` decoded per row: 37%) and ~22% in `JobService.get` (on a fresh read connection, see
waitjob_fanout). What would close it: group commit (one fsync for the write transactions queued
at the same moment), the read-connection fix above, and decoding datum inputs only for the page
actually sent.""",
}
