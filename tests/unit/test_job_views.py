"""The job read model (services/job_views.py) on a real JobService and SQLite store: a change
replaces the rendering of both ``details`` variants, a removal or another server's change drops it,
a read that races a change never keeps the older value, and the LRU bound holds."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from tuskd.domain.errors import NotFound
from tuskd.domain.jobs import Job, JobKey
from tuskd.domain.states import JobState
from tuskd.services.events import EventHub
from tuskd.services.job_views import JobViews, jobs_removed_topic
from tuskd.services.jobs import JobService, job_topic
from tuskd.store.base import Tx
from tuskd.store.sqlite import SqliteStore, SqliteTx
from tuskd.store.sqlite_pps import SqlitePpsTx

SET = "a" * 32


@pytest.fixture
def svc(tmp_path: Path) -> JobService:
    store = SqliteStore(tmp_path / "meta.db")
    return JobService(store, lambda tx: SqlitePpsTx(cast(SqliteTx, tx)), EventHub())


def _create(svc: JobService, pipeline: str, set_id: str = SET) -> JobKey:
    key = JobKey("default", pipeline, set_id)
    with svc._store.write() as tx:  # as the commit hook creates jobs
        svc.create_job(cast(Tx, tx), key, 1, pipeline, "master")
    return key


class Renders:
    """A rendering that says which job value and variant it was made from, and counts calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[JobKey, JobState, bool]] = []

    def __call__(self, job: Job, details: bool) -> bytes:
        self.calls.append((job.key, job.state, details))
        return f"{job.key}|{job.state.name}|{job.reason}|{'details' if details else 'plain'}".encode()


def test_a_change_replaces_the_rendering_of_both_details_variants(svc: JobService) -> None:
    key = _create(svc, "edges")
    render = Renders()
    assert svc.views.view(key, True, render) == b"edges@" + SET.encode() + b"|JOB_CREATED||details"
    assert svc.views.view(key, False, render) == b"edges@" + SET.encode() + b"|JOB_CREATED||plain"
    assert svc.views.view(key, True, render).endswith(b"details")
    assert len(render.calls) == 2  # each variant rendered once, then served as it is

    svc.transition(key, JobState.JOB_KILLED, "stopped by a test")

    assert svc.views.view(key, True, render) == b"edges@" + SET.encode() + b"|JOB_KILLED|stopped by a test|details"
    assert svc.views.view(key, False, render) == b"edges@" + SET.encode() + b"|JOB_KILLED|stopped by a test|plain"
    assert render.calls[2:] == [(key, JobState.JOB_KILLED, True), (key, JobState.JOB_KILLED, False)]


def test_a_listing_reuses_the_rendering_only_of_the_same_change(svc: JobService) -> None:
    key = _create(svc, "edges")
    render = Renders()
    listed = svc.get(key)  # as a listing reads it: the row and its change number
    svc.views.view(key, False, render)
    assert svc.views.rendering(listed.job, False, render, listed.seq).endswith(b"JOB_CREATED||plain")
    assert len(render.calls) == 1
    svc.transition(key, JobState.JOB_STARTING)
    # The listing read the older change: it gets that change's rendering, never the entry's.
    assert svc.views.rendering(listed.job, False, render, listed.seq).endswith(b"JOB_CREATED||plain")
    assert len(render.calls) == 2
    assert svc.views.view(key, False, render).endswith(b"JOB_STARTING||plain")


def test_a_wait_reuses_the_rendering_of_the_same_job_value(svc: JobService) -> None:
    key = _create(svc, "edges")
    render = Renders()
    started = svc.transition(key, JobState.JOB_STARTING)  # the value a WaitJob stream is handed
    svc.views.view(key, True, render)
    assert svc.views.rendering(started, True, render).endswith(b"JOB_STARTING||details")
    assert len(render.calls) == 1


@pytest.mark.parametrize("remembered", [True, False], ids=["entry", "miss"])
def test_a_read_racing_a_change_does_not_keep_the_older_rendering(svc: JobService, remembered: bool) -> None:
    key = _create(svc, "edges")
    if not remembered:
        svc.views.clear()  # the read fills from the store
    render = Renders()

    def render_while_it_changes(job: Job, details: bool) -> bytes:
        if not render.calls:  # the first read: the job changes between its read and its fill
            svc.transition(key, JobState.JOB_KILLED, "changed meanwhile")
        return render(job, details)

    assert svc.views.view(key, True, render_while_it_changes).endswith(b"JOB_CREATED||details")
    assert svc.views.view(key, True, render).endswith(b"JOB_KILLED|changed meanwhile|details")


@pytest.mark.parametrize("remembered", [True, False], ids=["entry", "miss"])
def test_a_read_racing_a_removal_does_not_bring_the_job_back(svc: JobService, remembered: bool) -> None:
    key = _create(svc, "edges")
    if not remembered:
        svc.views.clear()
    render = Renders()

    def render_while_removed(job: Job, details: bool) -> bytes:
        svc.views.removed(key)  # as DeleteJob's delivery does, between the read and the fill
        return render(job, details)

    svc.views.view(key, False, render_while_removed)
    assert key not in svc.views


def test_delete_job_and_a_deleted_pipeline_drop_their_entries(svc: JobService) -> None:
    first, second, other = _create(svc, "edges"), _create(svc, "edges", "b" * 32), _create(svc, "montage")
    render = Renders()
    for key in (first, second, other):
        svc.views.view(key, False, render)
    with svc._store.write() as tx:
        svc.removed(cast(Tx, tx), [first])
    assert first not in svc.views and second in svc.views
    with svc._store.write() as tx:
        svc.removed(cast(Tx, tx), pipeline=("default", "edges"))
    assert second not in svc.views and other in svc.views


def test_a_removal_rolled_back_keeps_the_entry(svc: JobService) -> None:
    key = _create(svc, "edges")
    svc.views.view(key, False, Renders())
    with pytest.raises(RuntimeError), svc._store.write() as tx:
        svc.removed(cast(Tx, tx), [key])
        raise RuntimeError("rolled back")
    assert key in svc.views


def test_another_servers_change_drops_the_jobs_its_topics_name(svc: JobService) -> None:
    keys = [_create(svc, "edges"), _create(svc, "edges", "b" * 32), _create(svc, "montage")]
    render = Renders()
    for key in keys:
        svc.views.view(key, True, render)
    svc.remote_changed([job_topic(keys[0]), "pipeline-jobs/default/edges", "repo/default/images"])
    assert [k in svc.views for k in keys] == [False, True, True]
    svc.remote_changed([jobs_removed_topic("default", "edges")])
    assert [k in svc.views for k in keys] == [False, False, True]


def test_lost_notifications_drop_every_entry(svc: JobService) -> None:
    keys = [_create(svc, "edges"), _create(svc, "montage")]
    for key in keys:
        svc.views.view(key, False, Renders())
    svc.remote_changed(None)  # the listener lost its connection: anything may have changed
    assert len(svc.views) == 0


def test_the_lru_bound_evicts_the_least_recently_read(svc: JobService) -> None:
    views = JobViews(svc.get, max_jobs=2)
    a, b, c = _create(svc, "a"), _create(svc, "b"), _create(svc, "c")
    render = Renders()
    views.view(a, False, render)
    views.view(b, False, render)
    views.view(a, False, render)  # a is now the most recently read
    views.view(c, False, render)
    assert (a in views, b in views, c in views) == (True, False, True)
    assert len(views) == 2
    views.view(b, False, render)  # read again from the store after its eviction
    assert [call[0] for call in render.calls] == [a, b, c, b]


def test_changes_fill_the_bound_too(svc: JobService) -> None:
    views = JobViews(svc.get, max_jobs=2)
    keys = [_create(svc, name) for name in ("a", "b", "c")]
    for key in keys:
        views.changed(svc.get(key).job, svc.get(key).seq)
    assert [k in views for k in keys] == [False, True, True]


def test_an_unknown_job_is_not_found_and_not_remembered(svc: JobService) -> None:
    with pytest.raises(NotFound):
        svc.views.view(JobKey("default", "edges", SET), False, Renders())
    assert len(svc.views) == 0
