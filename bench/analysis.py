# ruff: noqa: E501 - markdown tables in the texts below must stay one row per line
"""What docs/benchmarks.md says besides the table: how each case measures, and, for a case whose
goal a run misses, what a profile of that case found and what would close it.

An analysis is about the code it profiled, not about this run: each one names the commit it
profiled and the files whose code it describes. bench/run.py prints it only while those files are
unchanged since that commit (``git diff --quiet COMMIT -- FILES``); otherwise it prints that the
analysis is stale and the case needs profiling again, never the old prose as if it explained this
run's figures.

The shares quoted come from py-spy 0.4 profiles (200 Hz) taken on this machine; ``--gil`` shares
are of the server's Python CPU (the thread holding the GIL), ``--idle`` shares are of wall time
of the threads named. Profiling commands are in the README of this directory (bench/README.md).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Analysis:
    commit: str  # the commit that was profiled
    files: tuple[str, ...]  # the code the text describes (paths or directories, from the repo root)
    text: str

    def changed_files(self, root: Path = ROOT) -> list[str] | None:
        """The files of ``files`` changed since ``commit`` (in commits or the work tree of the
        repository at ``root``); None when git cannot tell (no git, or the commit is unknown)."""
        try:
            done = subprocess.run(
                ["git", "diff", "--name-only", self.commit, "--", *self.files],
                cwd=root, capture_output=True, text=True, check=False, timeout=30,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return None
        if done.returncode != 0:
            return None
        return [line for line in done.stdout.splitlines() if line]

    def for_this_run(self, name: str, root: Path = ROOT) -> str:
        """The text when the code it profiled is unchanged; else a line saying it is stale."""
        changed = self.changed_files(root)
        if changed is None:
            return (
                f"**{name}.** The analysis of {self.commit} cannot be checked against this tree (git or "
                f"the commit is missing here), so it is not printed; profile again (bench/README.md)."
            )
        if changed:
            shown = ", ".join(changed[:8]) + (f" and {len(changed) - 8} more" if len(changed) > 8 else "")
            return (
                f"**{name}.** The analysis of {self.commit} is stale: the code it profiled has changed "
                f"({shown}); profile again (bench/README.md)."
            )
        return f"{self.text}\n\n(Analysis of {self.commit}; its files are unchanged since: {', '.join(self.files)}.)"


METHOD = """\
## How each case measures

The full run (`make bench`) takes half an hour or more on this machine, most of it Snakemake's own
first run over 5,000 rules (this run's time per case is above);
`--tiny` (CI) 2 to 3 minutes (~50 s of it the four PostgreSQL cases). Each row's baseline is
measured in the same bench run, next to tusk's figure, and the `baseline is` column says what it
is: another program doing the same work, or `tusk itself` in another setting, where the row
compares tusk with itself. Where both sides
are cheap they alternate (best of each, or medians of alternating samples), so the neighbours'
load drifting during the run hits both sides alike.

| case | what | size (full / tiny) | baseline |
|---|---|---|---|
| job_overhead | FinishCommit of a fresh input commit -> the job's SUCCESS message on a WaitJob stream opened before; median of 15 (first one dropped); zero-datum and one-datum (`true`) jobs | 15 / 2 samples | one-datum: `subprocess.run(["true"])`, median; zero-datum: none (an absolute goal) |
| dag_latency | the same for a chain of 5 pipelines, one datum each (each stage copies its file: `sh -c 'cp "$in" out/'`, so the next stage has one datum too); median of 7 | 7 / 1 | tusk itself: 5 x a single pipeline with the same command, on the same server |
| datum_throughput | FinishCommit -> SUCCESS of a job of N one-line files, glob `/*`, `true`, parallelism 2, 2 datum workers | N = 5,000 / 40 | the same N `true` in a plain 2-worker ThreadPoolExecutor (best of one run just before the job and one just after) |
| incremental_job | after that job, change 1 file and commit: the new job's time over the first job's (one N-datum run shared with datum_throughput, bench/numbers_job.py) | 5,000 / 40 | tusk itself: its first job |
| history_scale | ListJob first page (50, newest first), median of 200, and server RSS, at 100,000 jobs vs 1,000 jobs on the same data directory; and commit -> SUCCESS of a zero-datum and a one-datum job of another pipeline (`probe`) at 100,000 jobs vs none, 15 alternating samples each. **Bulk path**: with the server stopped, finished jobs are written in-process through the store's PPS interface (`insert_job` + `save_job`), each walked CREATED -> STARTING -> RUNNING -> FINISHING -> SUCCESS by `domain.jobs.transition` with one history entry per step, 1,000 per transaction; they have no PFS commits behind them (ListJob without details reads none). Copies of the data directory are taken before the insert and at 1,000 jobs; three servers (`bench/serve_proc.py`, own processes) then run side by side | 100,000 vs 1,000 (and vs none) / 600 vs 60 | tusk itself: a server on the same data with the shorter history (RSS: growth against an absolute goal, no ratio) |
| upload | one 1 GiB file through ModifyFile (4 MiB AddFile chunks, one stream) into a server in its own process; peak RSS growth with VmHWM reset (`/proc/PID/clear_refs`) just before the upload | 1 GiB / 16 MiB | plain `write` + `fsync` of the same bytes on the same filesystem (the blob store fsyncs too); median of three, one before the upload and two after. RSS growth: none (an absolute goal, no ratio) |
| inspect_job | InspectJob calls/s on one unchanged job (the seed's `edges` job, 1.1 KB as JSON with `details`), 8 caller threads in the bench process, server in its own process; 3 rounds alternating with the baseline, best of each | 8 x 400 x 3 / 8 x 20 | `bench/bare_proc.py`: a bare grpcio server in its own process answering the same serialized JobInfo |
| inspect_job_distinct | InspectJob (`details`) calls/s over 1,000 distinct real jobs: 900 finished zero-datum jobs (one empty commit each) and 100 queued behind a job held RUNNING by a gate; during each round a writer thread stops the 100 one at a time (StopJob), paced over the round by the warm-up's rate (the note says how many changed). 8 callers, each walking the jobs with its own offset and stride; requests serialized up front, answers taken as bytes; 3 rounds, 100 fresh queued jobs each, best of each side | 1,000 (100 changing) x 8 x 400 x 3 / 40 (4) x 8 x 20 | `bench/bare_proc.py --table`: a bare grpcio server answering each request with the bytes tusk answered for that job just after the round (a dict lookup), same callers and requests |
| waitjob_fanout | 1,000 WaitJob streams on one job, grpc.aio in 2 child processes (bench/fanout_clients.py, ~100 streams a connection); per change: the last subscriber's arrival minus the server's `started`/`finished` stamp; 3 rounds x 2 changes (RUNNING, SUCCESS); server in its own process, `max_streams_per_kind` = streams + 100 | 1,000 streams / 20 | `bench/bare_proc.py --fanout` of the server kind seen (a thread per stream if the server's threads grew by at least half the streams when they opened, else `--aio`): the same subscribers, each follower sending the same WaitJobResponse bytes when one `Fire` notifies them all |
| waitjob_10k | the same with 10,000 streams, 2 rounds; and the server's RSS per open stream: (RSS with the streams open - RSS before) / streams | 10,000 / 60 | the same bare floor at 10,000 streams, and its RSS per stream (the goals are absolute: p99 < 1 s, < 20 KiB per stream) |
| load_mix | 50 clients (own channel each), each following the job with one WaitJob stream and looping ListJob page / InspectJob / ListDatum page / 64-byte put / WaitJob first message, while a 2,000-datum `true` job runs (server in its own process); the job's FinishCommit -> SUCCESS under that load | 50 clients, 2,000 datums / 6, 40 | tusk itself: the same mix for 15 s on the idle server (the job done); the same 2,000-datum job afterwards with no load (every file replaced, so every datum runs again) |
| rpc_overhead | GetVersion calls/s, 8 callers, server in-process; 3 alternating rounds, best of each | 8 x 400 x 3 / 8 x 20 | bare grpcio server in-process answering the same bytes |
| postgres_job_overhead | job_overhead's zero- and one-datum jobs (its own functions) on three in-process servers that differ only in the store: SQLite, PostgreSQL over loopback TCP, the same PostgreSQL through its unix socket; samples alternate over the three; median of 15 each (first dropped). PostgreSQL 15 is started for the case (tests/pgserver.py, as the postgres user, free loopback port) with its default durability (`fsync`, `synchronous_commit` on; SQLite's store runs `synchronous=FULL`), `max_connections` 300; each server gets a fresh migrated database | 15 / 2 samples | tusk itself on SQLite, same run (goal: PostgreSQL within 2x; the socket row is reported: what TCP's round trips cost) |
| postgres_inspect_job | inspect_job's 8 callers on one unchanged `edges` job, with and without `details`, against a PostgreSQL and a SQLite server in their own processes, 3 rounds alternating, best of each | 8 x 400 x 3 / 8 x 20 | tusk itself on SQLite, same run (reported, no goal) |
| postgres_history_scale | history_scale's ListJob first page (its bulk insert, its copy at 1,000 jobs, its alternating measure) with the histories on PostgreSQL and on SQLite; the PostgreSQL copy at 1,000 jobs is `CREATE DATABASE ... TEMPLATE` of the database at that point, with a copy of the data directory; four servers in their own processes, queried alternately, 10 rounds | 100,000 vs 1,000 / 600 vs 60 | tusk itself on PostgreSQL at 1,000 jobs (goal: flat, <= 1.5); and SQLite at 100,000 jobs, same run (reported) |
| postgres_load_mix | load_mix's whole mix (its own function) on a SQLite server, then on a PostgreSQL one: ops/s and p99 during the job, ops/s idle, the job's own time under the load | 50 clients, 2,000 datums / 6, 40 | tusk itself on SQLite, same run, just before (reported, no goal) |
| peer_snakemake | N one-line files copied one per datum / rule on 2 cores: tusk from StartCommit (upload included) to SUCCESS, first run and after one file changed | 5,000 / 30 | Snakemake (PyPI, own virtualenv `.venv-peers/`), one `cp` rule per file, `-j 2`, the whole process timed |

The machine is shared: other sessions' tests and profilers run at the same time, so figures move
between runs (this run's load average is printed above): a goal near its line can flip from one
run to the next. Ratios against a baseline measured in the same run are what to compare, not the
absolute figures.
"""

MISSED: dict[str, Analysis] = {
    "postgres_job_overhead": Analysis(
        "ac47671",
        (
            "server/tuskd/store/postgres.py",
            "server/tuskd/store/postgres_tx.py",
            "server/tuskd/store/postgres_pfs.py",
            "server/tuskd/store/pfs_tables.py",
            "server/tuskd/services/pfs_base.py",
            "server/tuskd/services/pfs_commits.py",
            "server/tuskd/engine/job_runner.py",
            "server/tuskd/engine/job_output.py",
        ),
        """\
**postgres_job_overhead** (profiled at ac47671, a shared 2-core machine at load 7 to 11: ratio 2.3
to 3.2, the zero-datum job 27 to 35 ms on PostgreSQL against 9 to 12 ms on SQLite; at 3a8d67a,
before the PFS SQL was shared, it was 3 to 4.5, and 6 to 10 at load 15 to 20: the gap grows with
the load, as every round trip is a thread wake-up). The time goes into round trips: FinishCommit
-> SUCCESS of one zero-datum job sends ~215 statements to PostgreSQL (counted on the connection):
24 read transactions (`BEGIN ... REPEATABLE READ READ ONLY`, their SELECTs, `ROLLBACK`), 5 write
transactions (`BEGIN` + advisory lock, the fence's `SELECT epoch`, the writes, `pg_notify`,
`COMMIT`) and ~155 SELECT/INSERT/UPDATE in them. Under that load one small SELECT over loopback
TCP costs 100 to 200 us, the same SELECT on SQLite ~20 us in-process. Mostly not the WAL flush:
a COMMIT takes ~0.5 ms, as SQLite's fsync does, and a database with `synchronous_commit = off`
was no faster at load 10; but while the shared disk was busy some COMMITs took 60 to 150 ms,
and then `synchronous_commit = off` saved ~13 of ~45 ms. Not TCP itself (the unix socket row is
within noise of the TCP one), not pool checkout or LISTEN/NOTIFY (py-spy `--idle` on the job
runner thread: its wall time is `Connection.wait` and `_send_query_prepared` spread over dozens
of call sites, the largest `get_commit` and `get_repo` under `PfsBase._commit_info`). Most
statements are commit reads: each `inspect_commit` (the runner's `_wait`/`_wait_inputs`,
`output_gone`, `write_output`, `job_plan._commits`) builds a CommitInfo from ~10 statements
(commit, repo by id, children, provenance, subvenance, layer stack, size, metadata), once per
wake-up of a waiter, in a read transaction of its own. Tried in the store and dropped: a
per-transaction memo of repo and commit rows (~3% of the statements repeat inside one
transaction), and sending a read's `BEGIN` with its first statement in pipeline mode (no gain
measurable under this load). What would close it: read a commit's info in one statement (a store
method joining those tables, used by `PfsBase._commit_info`), and let the runner's wait for an
input commit take the finished state from the commit event instead of re-reading it; on the
write side, fold the fence's epoch read into the `BEGIN` round trip and `pg_notify` into the
`COMMIT` one (2 of ~8 round trips per write).""",
    ),
    "datum_throughput": Analysis(
        "d086088",
        ("server/tuskd/engine",),
        """\
**datum_throughput** (profiled at d086088, a shared 2-core machine at load 7 to 12; ratio
0.30 to 0.47 in those runs). Per datum and worker slot (timed in the server, 5,000 datums):
`execute_datum` 5.2 ms mean (p50 2.4, p90 9.2), of which the attempt in the sandbox 4.7 ms
(p50 2.1, p90 8.5), laying out the tree 0.3 ms; the pool's turnaround between two datums of a
worker 0.6 ms. The floor's `true` costs ~2.1 ms per worker. py-spy `--idle`: each executor thread
waits in `_Supervisor.pump` for the helper's exit report ~72% of the job; the helper's PID 1
(engine/zygote.py) is idle in `poll` ~77% of its time and in `posix_spawn` ~21%. The server is
not CPU-bound (`--gil`: its Python holds the GIL ~20% of the wall time) and the GIL hand-over is
not the tail (`sys.setswitchinterval` 5 ms or 0.5 ms: the same ratio). The bare sandbox, without
the server (one `Sandbox` per thread running `true` back to back), did 514/s on 2 threads when
the plain pool did 576/s, but 244/s against 447/s on one thread. What makes the tail: each
attempt has four process wake-ups on its critical path (the helper woken by the request, the
child, the helper woken by the exit, the engine woken by the end of the output), the floor two
(the child, the parent); on a loaded machine each wake-up waits for a CPU. What would close it:
take the engine's turnaround off the critical path. Give each slot two trees, lay out the next
datum in the idle tree and queue its `run` in the slot's helper while the current attempt runs
(each attempt with its own reply socket, its timeout counted from the spawn, a queued request
dropped on cancel), so the helper spawns the next command the moment the previous one exits and
has been swept: the critical path is then the child and one helper wake-up, like the floor's.""",
    ),
    "waitjob_fanout": Analysis(
        "2a1e89e",
        (
            "server/tuskd/transport/pps_jobs.py",
            "server/tuskd/services/jobs.py",
            "server/tuskd/services/job_queries.py",
            "server/tuskd/services/events.py",
        ),
        """\
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
    ),
    "inspect_job": Analysis(
        "562d8e9",
        (
            "server/tuskd/transport/pps_jobs.py",
            "server/tuskd/transport/job_convert.py",
            "server/tuskd/services/job_queries.py",
            "server/tuskd/store/sqlite.py",
            "server/tuskd/store/sqlite_pps.py",
        ),
        """\
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
    ),
    "inspect_job_distinct": Analysis(
        "d766102",
        (
            "server/tuskd/transport/pps_jobs.py",
            "server/tuskd/services/job_views.py",
            "server/tuskd/services/job_queries.py",
            "server/tuskd/services/job_terminate.py",
            "server/tuskd/engine/scheduler.py",
            "server/tuskd/engine/job_stops.py",
            "server/tuskd/store/pps_tables.py",
        ),
        """\
**inspect_job_distinct** (profiled at d766102: the job read model answers InspectJob with
pre-serialized bytes rendered once per job change; before it the case was 0.18-0.19, every call
reading the job row and converting and serializing its JobInfo again). A smaller copy of the
case (300 finished jobs, 100 queued, the same writer; the bench process as client, the server in
its own process, another benchmark running beside it): a round without the writer runs at
1,770-2,850 calls/s using ~0.25-0.4 ms of server CPU a call; with the writer stopping its jobs
(34 and 100 of them in the two rounds) it falls to 800-1,740 calls/s. py-spy `--gil` of the
round with 100 stops: InspectJob is ~4% of the server's Python CPU (a read model hit; the
renderings of the round's new and changed jobs included), grpcio's own server path ~60%, and
most of the rest is the job changes: the engine's dispatch loop after each change (~18%, of it
~15% `PpsTables.unfinished_jobs` re-reading every unfinished job; engine/scheduler.py) and
StopJob itself (~7%: terminate, finish the output commit, COMMIT). Before db1e4fa each StopJob of
a queued job also built a CommitInfo of its open output commit, whose size walked every open
ancestor (`PfsBase._size`: 65% of the CPU, ~0.6 s a StopJob, so only 1-12 of the 100 jobs changed
in a round). What would close it: a dispatcher that reads what a change touched rather than
every unfinished job, and a cheaper StopJob of a job that never started.""",
    ),
    "rpc_overhead": Analysis(
        "306e587",
        ("server/tuskd/transport/version.py", "server/tuskd/transport/errors.py", "server/tuskd/app.py"),
        """\
**rpc_overhead.** Fixed in 306e587 (before it, `importlib.metadata.version` re-parsed the
package METADATA on every GetVersion: 30% of the process's CPU; and the error interceptor
wrapped every handler per call). This case runs the server in the bench process, so the 8
callers and the server share one GIL: a miss here after 306e587 is most likely the neighbours'
load; run it alone (`--only rpc_overhead`) to check.""",
    ),
    "upload": Analysis(
        "aed934e",
        ("server/tuskd/blobs/local.py", "server/tuskd/transport/pfs.py", "server/tuskd/services/pfs_modify.py"),
        """\
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
    ),
    "incremental_job": Analysis(
        "bdda4c1",
        ("server/tuskd/engine/job_plan.py", "server/tuskd/engine/job_output.py", "server/tuskd/store/pps_tables.py"),
        """\
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
    ),
}

# Printed in every full run (if not stale), whatever the goals say: findings a "met" does not show.
NOTES = Analysis(
    "562d8e9",
    (
        "server/tuskd/store/sqlite.py",
        "server/tuskd/transport/pps_datums.py",
        "server/tuskd/services/datum_queries.py",
        "server/tuskd/store/sqlite_pps.py",
    ),
    """\
**load_mix** (profiled at 562d8e9). p99 is seconds, with or without the job running; ListDatum and
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
""",
)
