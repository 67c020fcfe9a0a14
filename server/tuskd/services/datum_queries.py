"""The datum use cases of the job API: ListDatum and InspectDatum over the engine's datum rows,
a dry-run plan of the datums an input would produce, and RestartDatum."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from tuskd.domain.datums import FileEntry, plan_datums
from tuskd.domain.errors import FailedPrecondition, InvalidArgument, NotFound, Unimplemented
from tuskd.domain.inputs import Input, PfsInput, cron_inputs
from tuskd.domain.jobs import JobKey, Stats
from tuskd.domain.page_tokens import decode_datum_token, encode_datum_token
from tuskd.domain.pfs import DEFAULT_PROJECT, CommitRef, FileType, RepoKey
from tuskd.domain.states import DatumState, JobState, is_terminal
from tuskd.services.events import EventHub
from tuskd.services.jobs import JobService
from tuskd.services.pfs import PfsService
from tuskd.store.base import Store
from tuskd.store.pps import DatumRow, JobRow

__all__ = [
    "DatumInputView",
    "DatumListing",
    "DatumQueries",
    "DatumRestarter",
    "DatumView",
    "inputs_of",
    "matches_filters",
]

_MAX_BATCH = 1000  # datum rows per store query while listing


@dataclass(frozen=True)
class DatumInputView:
    """One input of a datum as the engine recorded it (or as a dry run planned it)."""

    name: str
    project: str
    repo: str
    repo_type: str
    branch: str
    commit: str
    path: str
    is_dir: bool
    hash: str  # hex
    size: int


@dataclass(frozen=True)
class DatumView:
    job: JobKey | None  # None for a dry run over an input spec
    id: str
    state: DatumState = DatumState.UNKNOWN
    attempts: int = 0
    reason: str = ""
    stats: Stats = field(default_factory=Stats)
    inputs: tuple[DatumInputView, ...] = ()
    page_token: str = ""


@dataclass(frozen=True)
class DatumListing:
    states: Sequence[DatumState] = ()
    marker: str = ""
    number: int = 0
    reverse: bool = False
    page_size: int = 0
    page_token: str = ""

    def fingerprint(self, key: JobKey) -> str:
        parts = [str(key), sorted(int(s) for s in self.states), self.reverse, self.marker]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


class DatumRestarter(Protocol):
    """The engine's side of RestartDatum: run these datums of a running job again."""

    def restart_datums(self, key: JobKey, datum_ids: Sequence[str]) -> list[str]:
        """Restart what can be (running, FAILED, RECOVERED datums); returns their IDs."""
        ...

    def unrecorded_datums(self, key: JobKey) -> list[DatumRow]:
        """A running job's datums with no row yet (running or waiting), as STARTING rows."""
        ...


def inputs_of(inputs_json: str) -> tuple[DatumInputView, ...]:
    try:
        items = json.loads(inputs_json or "[]")
    except ValueError:
        return ()
    views = []
    for item in items if isinstance(items, list) else ():
        views.append(
            DatumInputView(
                name=str(item.get("name", "")),
                project=str(item.get("project", DEFAULT_PROJECT)),
                repo=str(item.get("repo", "")),
                repo_type=str(item.get("repo_type", "user")),
                branch=str(item.get("branch", "")),
                commit=str(item.get("commit", "")),
                path=str(item.get("path", "")),
                is_dir=bool(item.get("is_dir", False)),
                hash=str(item.get("hash", "")),
                size=int(item.get("size", 0)),
            )
        )
    return tuple(views)


def _view(row: DatumRow, page_token: str = "") -> DatumView:
    r = row.record
    return DatumView(r.job, r.id, r.state, r.attempts, r.reason, r.stats, inputs_of(row.inputs_json), page_token)


def matches_filters(filters: Sequence[str], inputs: Sequence[DatumInputView]) -> bool:
    """Pachyderm's data filter: every filter names some input, by path or by content hash (hex
    or base64); a path matches with or without its leading slash."""
    return all(any(_matches(wanted, inp) for inp in inputs) for wanted in filters)


def _matches(wanted: str, inp: DatumInputView) -> bool:
    if wanted in (inp.path, inp.path.lstrip("/")) or wanted.rstrip("/") == inp.path.rstrip("/"):
        return True
    if not inp.hash:
        return False
    if wanted == inp.hash:
        return True
    try:
        return wanted == base64.b64encode(bytes.fromhex(inp.hash)).decode()
    except ValueError:
        return False


class DatumQueries:
    """ListDatum, InspectDatum, RestartDatum and the dry-run plan, over the engine's datum rows
    (GetLogs is services/job_logs.py)."""

    def __init__(
        self,
        store: Store,
        jobs: JobService,
        pfs: PfsService,
        hub: EventHub,
        restarter: DatumRestarter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._jobs = jobs
        self._pfs = pfs
        self._hub = hub
        self._restarter = restarter
        self._clock = clock

    def _job_row(self, key: JobKey) -> JobRow:
        return self._jobs.get(key)

    # -- reads ------------------------------------------------------------------------------

    def inspect(self, key: JobKey, datum_id: str) -> DatumView:
        row = self._job_row(key)
        with self._store.read() as tx:
            datum = self._jobs.tables(tx).get_datum(row.row, datum_id)
        if datum is None:
            raise NotFound(f"datum {datum_id} not found in job {key}", reason="DATUM_NOT_FOUND", datum=datum_id)
        return _view(datum)

    def list_datums(self, key: JobKey, listing: DatumListing) -> Iterator[DatumView]:
        for value, what in ((listing.number, "number"), (listing.page_size, "page_size")):
            if value < 0:
                raise InvalidArgument(f"{what} must not be negative", field=what)
        fingerprint = listing.fingerprint(key)
        after: str | None = listing.marker or None
        if listing.page_token:
            after = decode_datum_token(listing.page_token, fingerprint)
        row = self._job_row(key)
        limits = [n for n in (listing.number, listing.page_size) if n > 0]
        limit = min(limits) if limits else None
        return self._list(row.row, listing, after, limit, fingerprint if listing.page_size > 0 else "")

    def _list(
        self, job_row: int, listing: DatumListing, after: str | None, limit: int | None, fingerprint: str
    ) -> Iterator[DatumView]:
        sent = 0
        while limit is None or sent < limit:
            batch = _MAX_BATCH if limit is None else min(_MAX_BATCH, limit - sent)
            with self._store.read() as tx:
                rows = self._jobs.tables(tx).list_datums(job_row, tuple(listing.states), after, batch, listing.reverse)
            for datum in rows:
                after = datum.record.id
                token = encode_datum_token(after, fingerprint) if fingerprint else ""
                yield _view(datum, token)
                sent += 1
            if len(rows) < batch:
                return

    def plan(self, input: Input) -> list[DatumView]:
        """The datums ``input`` would produce over the current commits (nothing runs)."""
        if cron_inputs(input):  # pachd's answer: the tick repo does not exist before the pipeline
            raise InvalidArgument(
                "can't list datums with a cron input, there will be no datums until the pipeline is created"
            )
        commits: dict[tuple[str, str, str, str], str] = {}

        def listing(pfs: PfsInput) -> Sequence[FileEntry]:
            repo = RepoKey.of(pfs.repo, pfs.project, pfs.repo_type)
            ref = CommitRef(repo, id=pfs.commit) if pfs.commit else CommitRef(repo, branch=pfs.branch)
            info = self._pfs.inspect_commit(ref)
            commits[(pfs.project, pfs.repo, pfs.repo_type, pfs.branch)] = info.commit.id
            return [
                FileEntry(f.path, False, f.size_bytes, f.hash)
                for f in self._pfs.walk_files(CommitRef(repo, id=info.commit.id), "/")
                if f.file_type is FileType.FILE
            ]

        datums = plan_datums(input, listing)

        def commit_of(repo: str, branch: str) -> tuple[str, str, str]:
            for (project, name, repo_type, branch_name), commit in commits.items():
                if name == repo and branch_name == branch:
                    return project, repo_type, commit
            return DEFAULT_PROJECT, "user", ""

        views = []
        for d in datums:
            inputs = []
            for i in d.inputs:
                project, repo_type, commit = commit_of(i.repo, i.branch)
                size = sum(f.size for f in i.files)
                inputs.append(
                    DatumInputView(i.name, project, i.repo, repo_type, i.branch, commit, i.path, i.is_dir, i.hash, size)
                )
            views.append(DatumView(None, d.id, inputs=tuple(inputs)))
        return views

    # -- restarting -------------------------------------------------------------------------

    def restart(self, key: JobKey, datum_ids: Sequence[str], data_filters: Sequence[str]) -> list[str]:
        """Run the chosen datums of a RUNNING job again: by ID (each must be a datum of the job,
        else nothing is restarted) and by data filter; with neither, every datum running now (as
        pachd's empty filter). Returns the IDs the engine restarted (running, FAILED and RECOVERED
        datums; SUCCESS and SKIPPED ones are final). What finds nothing says so in pachd's words."""
        nothing = f"datum matching filter [{' '.join(data_filters)}] could not be found for job ID {key.id}"
        row = self._job_row(key)
        state = row.job.state
        if is_terminal(state):
            raise FailedPrecondition(
                f"{nothing}: job {key} is finished ({state.name.removeprefix('JOB_').lower()}); "
                f"rerun the pipeline (tusk rerun pipeline {key.pipeline})",
                reason="JOB_FINISHED",
                job=str(key),
            )
        if state in (JobState.JOB_CREATED, JobState.JOB_STARTING):
            raise FailedPrecondition(
                f"{nothing}: job {key} has not started its datums yet", reason="JOB_NOT_RUNNING", job=str(key)
            )
        if self._restarter is None:
            raise Unimplemented("restarting datums is not supported by this server's job engine")
        # Datums running or waiting have no row yet: the engine describes them.
        unrecorded = {d.record.id: d for d in self._restarter.unrecorded_datums(key)}
        if not datum_ids and not data_filters:
            if not unrecorded:
                raise NotFound(nothing, reason="DATUM_NOT_FOUND", job=str(key))
            return self._restarter.restart_datums(key, sorted(unrecorded))
        chosen: list[str] = []
        with self._store.read() as tx:
            t = self._jobs.tables(tx)
            for datum_id in dict.fromkeys(datum_ids):
                if datum_id not in unrecorded and t.get_datum(row.row, datum_id) is None:
                    raise NotFound(
                        f"datum {datum_id} not found in job {key}; nothing was restarted",
                        reason="DATUM_NOT_FOUND",
                        datum=datum_id,
                    )
                chosen.append(datum_id)
            if data_filters:
                rows = [*t.list_datums(row.row), *unrecorded.values()]
                matched = sorted(
                    {d.record.id for d in rows if matches_filters(data_filters, inputs_of(d.inputs_json))}
                )
                if not matched:
                    raise NotFound(nothing, reason="DATUM_NOT_FOUND", job=str(key))
                chosen += [d for d in matched if d not in chosen]
        return self._restarter.restart_datums(key, chosen)
