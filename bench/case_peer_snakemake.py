"""A peer doing the same work in the same run: Snakemake, one rule per file, on 2 cores.

The work: N one-line files; for each, copy it to an output (`cp`), two at a time. Then one file
changes and the work is brought up to date again.

- tusk: a repo holding the N files (uploaded through ModifyFile) and a pipeline running
  ``cp -r /pfs/numbers/. /pfs/out/`` per file (glob ``/*``, parallelism 2, 2 datum workers).
  Timed: from StartCommit (the upload included) to the job's SUCCESS message, first with all N
  files, then with one changed file (the incremental job).
- Snakemake (PyPI, in its own virtualenv: ``bench/peers.py``): the same N files on disk, a
  Snakefile with one rule ``cp {input} {output}`` per file and ``-j 2``. Timed: the whole
  ``snakemake`` process (its start, DAG, jobs), first run, then after rewriting one input file.

Both sides start from files in hand and end with every output in place; Snakemake reads the files
where they lie while tusk also uploads them, which favours the peer. Ratio: Snakemake's seconds
over tusk's (above 1 means tusk was faster).
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import tusk
from bench.common import (
    BenchError,
    TerminalWatch,
    create_repo,
    finish_commit,
    id_commit,
    newest_job,
    pipeline_spec,
    put_files,
    start_commit,
    wait_done,
)
from bench.harness import Row, Size, case
from bench.peers import SNAKEMAKE, snakemake_command
from bench.servers import tusk_server

_SNAKEFILE = """\
import os
FILES = sorted(os.listdir("data"))
rule all:
    input: expand("out/{f}", f=FILES)
rule copy:
    input: "data/{f}"
    output: "out/{f}"
    shell: "cp {input} {output}"
"""


def _files(n: int) -> list[tuple[str, bytes]]:
    return [(f"n{i:05d}", b"%d\n" % i) for i in range(n)]


def _tusk_commit(client: tusk.Client, files: list[tuple[str, bytes]], replace: bool) -> float:
    """StartCommit, upload, FinishCommit, and the job's SUCCESS: seconds for all of it."""
    t0 = time.perf_counter()
    commit_id = start_commit(client, "numbers")
    put_files(client, "numbers", [(f"/{name}", data) for name, data in files], id_commit("numbers", commit_id),
              replace=replace)  # fmt: skip
    watch = TerminalWatch(client, f"copy@{commit_id}")
    finish_commit(client, "numbers", commit_id)
    _info, at = watch.result()
    return at - t0


def _tusk(n: int) -> tuple[float, float]:
    with tusk_server(datum_workers=2) as (address, _deps), tusk.Client(address) as client:
        create_repo(client, "numbers")
        client.pps.create_pipeline(
            pipeline_spec("copy", "numbers", ["cp", "-r", "/pfs/numbers/.", "/pfs/out/"], parallelism=2)
        )
        wait_done(client, f"copy@{newest_job(client, 'copy').job.id}")  # the empty repo's zero-datum job
        first = _tusk_commit(client, _files(n), replace=False)
        job = newest_job(client, "copy")
        if job.data_processed != n:
            raise BenchError(f"tusk: expected {n} datums processed, the job says {job.data_processed}")
        second = _tusk_commit(client, [("n00003", b"changed\n")], replace=True)
        job = newest_job(client, "copy")
        if (job.data_processed, job.data_skipped) != (1, n - 1):
            raise BenchError(f"tusk: the rerun processed {job.data_processed} and skipped {job.data_skipped}")
    return first, second


def _snakemake_run(command: list[str], workdir: Path) -> float:
    t0 = time.perf_counter()
    done = subprocess.run([*command, "-j", "2", "-q"], cwd=workdir, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise BenchError(f"snakemake failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def _snakemake(n: int) -> tuple[float, float]:
    command = snakemake_command()
    with tempfile.TemporaryDirectory(prefix="tusk-bench-smk-") as tmp:
        work = Path(tmp)
        (work / "Snakefile").write_text(_SNAKEFILE)
        data = work / "data"
        data.mkdir()
        for name, content in _files(n):
            (data / name).write_bytes(content)
        first = _snakemake_run(command, work)
        outputs = sorted(p.name for p in (work / "out").iterdir())
        if len(outputs) != n:
            raise BenchError(f"snakemake: expected {n} outputs, found {len(outputs)}")
        time.sleep(1.1)  # Snakemake compares modification times: the change must be visibly newer
        (data / "n00003").write_bytes(b"changed\n")
        second = _snakemake_run(command, work)
        if (work / "out" / "n00003").read_bytes() != b"changed\n":
            raise BenchError("snakemake: the rerun did not bring n00003 up to date")
    return first, second


@case("peer_snakemake")
def peer_snakemake(size: Size) -> list[Row]:
    n = size.pick(5000, 30)
    smk_first, smk_second = _snakemake(n)
    ours_first, ours_second = _tusk(n)
    first = smk_first / ours_first
    second = smk_second / ours_second
    return [
        Row(f"peer: {n} files, cp per file on 2 cores, first run: Snakemake s / tusk s", ours_first, smk_first, "s",
            first, "> 1 (tusk faster)", first > 1, "tusk timed with the upload", against=f"{SNAKEMAKE}, same work"),
        Row("peer: the rerun after 1 file changed: Snakemake s / tusk s", ours_second, smk_second, "s", second,
            "> 1 (tusk faster)", second > 1, against=f"{SNAKEMAKE}, same work"),
    ]  # fmt: skip
