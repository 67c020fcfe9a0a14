"""The end of a successful job's walk (steps 5 and 6 of engine/job_runner.py): its datums'
outputs merged, checked, egressed, and written to its output commit. A job that does not
succeed ends through services/job_terminate.py, which also finishes this commit with an error."""

from __future__ import annotations

import logging

from tuskd.blobs.base import BlobRef
from tuskd.domain.errors import DataLoss, NotFound
from tuskd.domain.jobs import JobKey, output_commit_error
from tuskd.domain.pfs import CommitRef, FileType
from tuskd.domain.states import DatumState, JobState
from tuskd.engine.egress import EgressError, egress_files
from tuskd.engine.job_checks import output_problem
from tuskd.engine.job_context import EngineContext
from tuskd.engine.job_control import JobControl, JobGone, JobStopped
from tuskd.engine.ports import CommitPort
from tuskd.store.pps import OutputEntry

__all__ = [
    "JobOutput",
    "OutputCheckFailed",
    "output_commit_error",
    "output_gone",
]

log = logging.getLogger("tuskd.engine.job_runner")  # a job's whole run logs under one name


def output_gone(pfs: CommitPort, out_ref: CommitRef) -> bool | None:
    """Whether a job's output commit is gone from its (existing) output repo: its commit set was
    dropped or squashed (by a server that died before it could end the job). None when the
    output repo does not exist at all (a job recorded by a tool or a test)."""
    try:
        pfs.commit_status(out_ref)
        return False
    except NotFound:
        pass
    try:
        pfs.inspect_repo(out_ref.repo)
    except NotFound:
        return None
    return True


class OutputCheckFailed(Exception):
    """The job's recorded datums and outputs do not add up at EGRESSING/FINISHING."""


class JobOutput:
    """Merges, egresses and writes one job's output (the runner moves the job's states)."""

    def __init__(self, ctx: EngineContext, key: JobKey, control: JobControl) -> None:
        self.ctx = ctx
        self.key = key
        self.control = control

    def merged_outputs(self) -> dict[str, tuple[str, int]]:
        """path -> (blob, size) of the job's output; paths several datums wrote are concatenated
        in datum-ID order into a new blob. OutputCheckFailed when the record does not add up
        (engine/job_checks.py): no job leaves RUNNING for SUCCESS without passing here."""
        with self.ctx.store.read() as tx:
            t = self.ctx.jobs.tables(tx)
            row = t.get_job(self.key)
            if row is None:
                raise JobGone()
            entries = t.datum_outputs(row.row)
            datums = {i: state for state in DatumState for i in t.datum_hashes(row.row, [state])}
        with self.control.lock:
            plan = list(self.control.plan)
        problem = output_problem(row.job, datums, entries, self.ctx.blobs.exists, plan)
        if problem is not None:
            step = row.job.state.name.removeprefix("JOB_")
            raise OutputCheckFailed(f"output check failed at {step}: {problem}")
        by_path: dict[str, list[OutputEntry]] = {}
        for entry in entries:  # ordered by datum id, then path
            by_path.setdefault(entry.path, []).append(entry)
        merged: dict[str, tuple[str, int]] = {}
        blobs = self.ctx.blobs
        for path in sorted(by_path):
            parts = by_path[path]
            if len(parts) == 1:
                merged[path] = (parts[0].blob, parts[0].size)
                continue
            ref = blobs.put_stream((chunk for part in parts for chunk in blobs.read_chunks(part.blob)), durable=False)
            merged[path] = (ref.hash, ref.size)
        return merged

    def egress(self, url: str, outputs: dict[str, tuple[str, int]]) -> None:
        self.control.check()
        blobs = self.ctx.blobs
        # Each blob is read (and checked against its name) while it is copied.
        files = [(path, blobs.read_chunks(blob)) for path, (blob, _) in outputs.items()]
        try:
            copied = egress_files(url, files, self.ctx.data_dir)
        except DataLoss as exc:  # never copy content that no longer matches its hash
            raise EgressError(f"egress to {url} failed: {exc}") from exc
        log.info("job %s: egressed %d files (%d bytes) to %s", self.key, len(files), copied, url)

    def write_output(self, out_ref: CommitRef, outputs: dict[str, tuple[str, int]]) -> None:
        """Make the open output commit hold exactly ``outputs``, finish it, record SUCCESS."""
        pfs = self.ctx.pfs
        self.control.check()
        try:
            info = pfs.commit_status(out_ref)
        except NotFound:
            raise JobStopped(f"output commit {out_ref} was deleted") from None
        if info.finishing:
            # Finished by someone else (e.g. a forced FinishCommit): the job cannot own it now.
            raise JobStopped(f"output commit {out_ref} was finished outside the job")
        current = {f.path: f.hash for f in pfs.walk_files(out_ref, "/") if f.file_type is FileType.FILE}
        session = pfs.begin_modify(out_ref)
        for path in sorted(current.keys() - outputs.keys()):
            session.delete_file(path)
        for path, (blob, size) in outputs.items():
            if current.get(path) != blob:
                session.put_blob(path, BlobRef(blob, size))  # already stored: recorded, not copied
        self.ctx.blobs.flush()  # outputs become durable before the write that names them
        with self.control.commit_point(), self.ctx.store.write() as tx:
            if session.pending:
                session.commit(tx=tx)  # one unit of work: the files, the finished commit, SUCCESS
            else:
                session.abort()
            pfs.finish_commit(out_ref, force=True, tx=tx)
            try:
                self.ctx.jobs.transition(self.key, JobState.JOB_SUCCESS, tx=tx)
            except NotFound:
                raise JobGone() from None
        log.info("job %s: SUCCESS (%d output files)", self.key, len(outputs))
