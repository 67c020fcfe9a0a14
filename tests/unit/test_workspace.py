"""A datum's on-disk life: laying out inputs from blobs, collecting /pfs/out, its kept log, egress.

Real files in tmp dirs and a real LocalBlobStore; no server.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tuskd.blobs.local import LocalBlobStore
from tuskd.domain.jobs import JobKey
from tuskd.engine.egress import EgressError, egress_directory, egress_files
from tuskd.engine.logs import DatumLogs, bound
from tuskd.engine.workspace import InputFile, JobSpace, LaidOutInput, Workspace, default_scratch_root, remove_tree

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def _input(blobs: LocalBlobStore, name: str, files: dict[str, bytes]) -> LaidOutInput:
    out = []
    for path, data in files.items():
        ref = blobs.put_bytes(data)
        out.append(InputFile(path, ref.hash, ref.size))
    return LaidOutInput(name, out)


# --------------------------------------------------------------------------------------------
# Laying out
# --------------------------------------------------------------------------------------------


def _space(tmp_path: Path, blobs: LocalBlobStore, link: bool = True) -> tuple[Workspace, JobSpace]:
    ws = Workspace(tmp_path / "work", blobs, link=link, scratch_root=tmp_path / "scratch")
    ws.reset()
    return ws, ws.open_job("job")


def test_inputs_are_hard_links_to_the_blobs_at_their_repo_paths(tmp_path: Path, blobs: LocalBlobStore) -> None:
    _, space = _space(tmp_path, blobs)
    images = _input(blobs, "images", {"/dir/a.png": b"alpha", "/dir/sub/b.png": b"bravo"})
    labels = _input(blobs, "labels", {"/x.csv": b"1,2"})
    with space.slot() as slot:
        tree = space.prepare(slot, [images, labels])
        assert set(tree.inputs) == {"images", "labels"}
        a = tree.inputs["images"] / "dir" / "a.png"
        assert a.read_bytes() == b"alpha"
        assert (tree.inputs["images"] / "dir" / "sub" / "b.png").read_bytes() == b"bravo"
        assert (tree.inputs["labels"] / "x.csv").read_bytes() == b"1,2"
        assert os.stat(a).st_ino == os.stat(blobs.path(images.files[0].blob)).st_ino  # no copy
        assert tree.bytes == len(b"alpha") + len(b"bravo") + len(b"1,2")
        assert tree.out_dir.is_dir() and list(tree.out_dir.iterdir()) == []
        assert tree.tmp_dir.is_dir() and tree.scratch_dir.is_dir()
        assert tree.scratch_dir.is_relative_to(tmp_path / "scratch")


def test_a_reused_slot_holds_only_the_next_datums_inputs(tmp_path: Path, blobs: LocalBlobStore) -> None:
    _, space = _space(tmp_path, blobs)
    with space.slot() as slot:
        first = space.prepare(slot, [_input(blobs, "in", {"/deep/er/a": b"a", "/top": b"t"})])
        (first.out_dir / "result").write_text("r")
        (first.tmp_dir / "junk").write_text("j")
    with space.slot() as again:
        assert again is slot  # reused, not remade
        second = space.prepare(again, [_input(blobs, "other", {"/b": b"b"})])
    assert sorted(p.name for p in second.inputs["other"].iterdir()) == ["b"]
    assert list((slot.in_root / "in").iterdir()) == []  # the old links and their directories are gone
    assert list(second.out_dir.iterdir()) == [] and list(second.tmp_dir.iterdir()) == []
    assert "in" not in second.inputs


def test_concurrent_datums_get_different_slots_and_a_failing_one_is_discarded(
    tmp_path: Path, blobs: LocalBlobStore
) -> None:
    _, space = _space(tmp_path, blobs)
    with space.slot() as one, space.slot() as two:
        assert one.root != two.root and one.scratch != two.scratch
    with pytest.raises(RuntimeError), space.slot() as broken:
        raise RuntimeError("boom")
    assert not broken.root.exists()
    with space.slot() as next_one:
        assert next_one is not broken


def test_copy_mode_never_shares_the_blob_and_clears_what_user_code_added(tmp_path: Path, blobs: LocalBlobStore) -> None:
    _, space = _space(tmp_path, blobs, link=False)
    images = _input(blobs, "images", {"/a": b"alpha"})
    with space.slot() as slot:
        tree = space.prepare(slot, [images])
        copy = tree.inputs["images"] / "a"
        assert copy.read_bytes() == b"alpha"
        assert os.stat(copy).st_ino != os.stat(blobs.path(images.files[0].blob)).st_ino
        copy.write_bytes(b"changed")  # a write reaches only the copy
        (tree.inputs["images"] / "added").write_text("x")
        assert blobs.path(images.files[0].blob).read_bytes() == b"alpha"
        tree = space.prepare(slot, [_input(blobs, "images", {"/b": b"b"})])
        assert sorted(p.name for p in tree.inputs["images"].iterdir()) == ["b"]


def test_same_name_twice_merges_and_repeated_paths_are_laid_out_once(tmp_path: Path, blobs: LocalBlobStore) -> None:
    _, space = _space(tmp_path, blobs)
    first = _input(blobs, "in", {"/1-a": b"a"})
    second = _input(blobs, "in", {"/2-b": b"b", "/1-a": b"a"})
    with space.slot() as slot:
        tree = space.prepare(slot, [first, second])
    assert sorted(p.name for p in tree.inputs["in"].iterdir()) == ["1-a", "2-b"]
    assert tree.bytes == 2


def test_an_input_without_files_is_an_empty_directory(tmp_path: Path, blobs: LocalBlobStore) -> None:
    _, space = _space(tmp_path, blobs)
    with space.slot() as slot:
        tree = space.prepare(slot, [LaidOutInput("empty", [])])
    assert tree.inputs["empty"].is_dir() and list(tree.inputs["empty"].iterdir()) == []


def test_close_and_reset_remove_everything_even_read_only_leftovers(tmp_path: Path, blobs: LocalBlobStore) -> None:
    ws, space = _space(tmp_path, blobs)
    with space.slot() as slot:
        tree = space.prepare(slot, [_input(blobs, "in", {"/a": b"a"})])
        locked = tree.out_dir / "locked"
        locked.mkdir()
        (locked / "f").write_text("x")
        locked.chmod(0o500)
    space.close()  # the slot goes back to the workspace emptied, read-only leftovers too
    assert list(slot.out_dir.iterdir()) == [] and list((slot.in_root / "in").iterdir()) == []
    other = ws.open_job("other")
    with other.slot() as again:
        assert again is slot  # kept across jobs
        other.prepare(again, [])
    other.close()
    ws.close()
    assert list(ws.root.iterdir()) == [] and not ws.scratch_root.exists()
    with ws.open_job("leftover").slot() as slot:
        ws.reset()
    assert list(ws.root.iterdir()) == [] and not ws.scratch_root.exists()
    remove_tree(tmp_path / "missing")  # removing nothing is fine


def test_the_default_scratch_root_is_on_dev_shm_when_usable() -> None:
    root = default_scratch_root("abc")
    assert root is None or root == Path("/dev/shm/tusk-abc")


# --------------------------------------------------------------------------------------------
# Collecting
# --------------------------------------------------------------------------------------------


def test_collect_stores_every_file_in_path_order(tmp_path: Path, blobs: LocalBlobStore) -> None:
    _, space = _space(tmp_path, blobs)
    with space.slot() as slot:
        out = space.prepare(slot, []).out_dir
        (out / "b.txt").write_bytes(b"bee")
        (out / "dir" / "deep").mkdir(parents=True)
        (out / "dir" / "deep" / "c").write_bytes(b"sea")
        (out / "empty").mkdir()
        collected = space._ws.collect(slot.out_dir)
    assert [(f.path, f.size) for f in collected] == [("/b.txt", 3), ("/dir/deep/c", 3)]
    blobs.flush()
    for f in collected:
        assert blobs.path(f.blob).read_bytes() in (b"bee", b"sea")


# --------------------------------------------------------------------------------------------
# Logs
# --------------------------------------------------------------------------------------------


def test_logs_are_kept_per_datum_and_read_by_pipeline_job_and_datum(tmp_path: Path) -> None:
    logs = DatumLogs(tmp_path / "logs")
    j1, j2 = JobKey("default", "edges", "a" * 32), JobKey("default", "edges", "b" * 32)
    logs.write(j1, "d1", b"one\n")
    logs.write(j1, "d2", b"two\nlines\n")
    logs.write(j2, "d1", b"again\n")
    logs.write(j2, "quiet", b"")
    assert [(e.job_id, e.datum_id) for e in logs.read_logs("default", "edges", j1.id)] == [(j1.id, "d1"), (j1.id, "d2")]
    assert [e.lines() for e in logs.read_logs("default", "edges", j1.id, "d2")] == [["two", "lines"]]
    assert sorted(e.data for e in logs.read_logs("default", "edges")) == [b"again\n", b"one\n", b"two\nlines\n"]
    assert list(logs.read_logs("default", "other")) == []
    assert list(logs.read_logs("default", "edges", j2.id, "quiet")) == []
    logs.write(j1, "d1", b"")  # a rerun that printed nothing hides the earlier run's log
    assert list(logs.read_logs("default", "edges", j1.id, "d1")) == []
    logs.remove_job(j1)
    assert [e.job_id for e in logs.read_logs("default", "edges")] == [j2.id]
    with pytest.raises(ValueError):
        list(logs.read_logs("default", "..", None))


def test_logs_are_bounded_keeping_head_and_tail(tmp_path: Path) -> None:
    logs = DatumLogs(tmp_path / "logs", limit=1000)
    data = b"H" * 3000 + b"T" * 3000
    logs.write(JobKey("default", "p", "j"), "d", data)
    [entry] = logs.read_logs("default", "p", "j", "d")
    assert len(entry.data) <= 1000
    assert entry.data.startswith(b"HHH") and entry.data.endswith(b"TTT")
    assert b"bytes of output elided" in entry.data
    assert bound(b"short", 1000) == b"short"
    assert bound(b"x" * 100, 10) == b"x" * 10


# --------------------------------------------------------------------------------------------
# Egress
# --------------------------------------------------------------------------------------------


def test_egress_copies_files_into_the_directory(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a").write_bytes(b"alpha")
    target = tmp_path / "target"
    (target / "sub").mkdir(parents=True)
    (target / "keep").write_text("mine")
    (target / "sub" / "b").write_text("old")
    copied = egress_files(f"file://{target}", [("/a", src / "a"), ("/sub/b", src / "a")])
    assert copied == 10
    assert (target / "a").read_bytes() == b"alpha"
    assert (target / "sub" / "b").read_bytes() == b"alpha"
    assert (target / "keep").read_text() == "mine"
    assert os.stat(target / "a").st_ino != os.stat(src / "a").st_ino
    assert [p.name for p in (target / "sub").iterdir()] == ["b"]  # no temp files left


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://bucket/x", "only file:// URLs are supported"),
        ("file://otherhost/x", "names another host"),
        ("file:relative", "must be absolute"),
    ],
)
def test_egress_refuses_urls_it_cannot_serve(url: str, message: str) -> None:
    with pytest.raises(EgressError, match=message):
        egress_directory(url)


def test_egress_failure_names_the_url_and_the_problem(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(EgressError, match=rf"egress to file://{blocker}/d failed: .*"):
        egress_files(f"file://{blocker}/d", [("/a", blocker)])
    with pytest.raises(EgressError, match="cannot be written safely"):
        egress_files(f"file://{tmp_path}/t", [("/../escape", blocker)])
