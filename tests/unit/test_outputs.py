"""Collecting /pfs/out (engine/outputs.py) on a real directory and a real blob store: nothing
followed, nothing but regular files opened, bounded in size and in time."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from tuskd.blobs.local import LocalBlobStore
from tuskd.engine.outputs import OutputCancelled, OutputError, collect_outputs, format_bytes

REGULAR = "outputs must be regular files or directories"


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


@pytest.fixture
def out(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


def _stored(blobs: LocalBlobStore) -> list[Path]:
    return [p for p in (blobs.root / "objects").rglob("*") if p.is_file()] + list((blobs.root / "tmp").iterdir())


def test_regular_files_are_stored_in_path_order(out: Path, blobs: LocalBlobStore) -> None:
    (out / "b").write_bytes(b"bee")
    (out / "a" / "deep").mkdir(parents=True)
    (out / "a" / "deep" / "c").write_bytes(b"sea")
    (out / "empty").mkdir()
    found = collect_outputs(out, blobs)
    assert [(f.path, f.size) for f in found] == [("/a/deep/c", 3), ("/b", 3)]
    assert blobs.path(found[1].blob).read_bytes() == b"bee"


def _bound_socket(path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))  # the socket file stays when the socket is closed


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d, secret: (d / "k").symlink_to("/proc/kmsg"), f"output /k is a symbolic link: {REGULAR}"),
        (lambda d, secret: (d / "s").symlink_to(secret), f"output /s is a symbolic link: {REGULAR}"),
        (
            lambda d, secret: (d / "dangling").symlink_to(d / "nowhere"),
            f"output /dangling is a symbolic link: {REGULAR}",
        ),
        (lambda d, secret: (d / "root").symlink_to("/"), f"output /root is a symbolic link: {REGULAR}"),
        (lambda d, secret: os.mkfifo(d / "f"), f"output /f is a FIFO: {REGULAR}"),
        (lambda d, secret: _bound_socket(d / "sock"), f"output /sock is a socket: {REGULAR}"),
    ],
)
def test_links_and_special_files_fail_without_being_read(
    out: Path, blobs: LocalBlobStore, tmp_path: Path, make: object, reason: str
) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"secret")
    (out / "fine").write_bytes(b"fine")
    make(out, secret)  # type: ignore[operator]
    with pytest.raises(OutputError) as err:
        collect_outputs(out, blobs)
    assert str(err.value) == reason
    assert _stored(blobs) == []  # refused before any file was read


def test_a_directory_swapped_for_a_link_after_the_walk_is_refused(
    out: Path, blobs: LocalBlobStore, tmp_path: Path
) -> None:
    """The file opened must be the inode the walk saw (O_NOFOLLOW on the last component, the
    inode check for the directories above it)."""
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "f").write_bytes(b"secret")
    (out / "d").mkdir()
    (out / "d" / "f").write_bytes(b"mine")
    calls = []

    class Swapping(LocalBlobStore):
        def put_stream(self, chunks, *, durable=True):  # type: ignore[no-untyped-def]
            if not calls:
                calls.append(1)
                (out / "d" / "f").unlink()
                (out / "d").rmdir()
                (out / "d").symlink_to(tmp_path / "elsewhere")
            return super().put_stream(chunks, durable=durable)

    with pytest.raises(OutputError) as err:
        collect_outputs(out, Swapping(blobs.root))
    assert str(err.value) == f"output /d/f changed while it was collected: {REGULAR}"


def test_apparent_sizes_count_against_the_limit_before_reading(out: Path, blobs: LocalBlobStore) -> None:
    with open(out / "sparse", "wb") as fh:
        fh.truncate(1 << 40)  # 1 TiB, no disk used
    (out / "small").write_bytes(b"x")
    with pytest.raises(OutputError) as err:
        collect_outputs(out, blobs, limit=1 << 30)
    assert str(err.value) == (
        "outputs exceed the per-datum limit of 1 GiB (datum_output_limit, tusk serve --datum-output-limit): "
        "1 TiB in 2 files"
    )
    assert _stored(blobs) == []


def test_the_deadline_and_the_cancel_event_stop_reading(out: Path, blobs: LocalBlobStore) -> None:
    with open(out / "sparse", "wb") as fh:
        fh.truncate(1 << 40)
    with pytest.raises(OutputError) as err:
        collect_outputs(out, blobs, limit=1 << 50, deadline=time.monotonic() + 0.2, timeout=2.0)
    assert str(err.value) == "timed out after 2s while collecting outputs"
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    with pytest.raises(OutputCancelled):
        collect_outputs(out, blobs, limit=1 << 50, cancel=cancel)
    assert _stored(blobs) == []  # the partial blobs were removed


def test_names_that_are_not_utf8_fail(out: Path, blobs: LocalBlobStore) -> None:
    (Path(os.fsdecode(bytes(out) + b"/bad\xff"))).write_bytes(b"x")
    with pytest.raises(OutputError) as err:
        collect_outputs(out, blobs)
    assert str(err.value) == "output name /bad\\xff is not valid UTF-8"


def test_format_bytes() -> None:
    assert [format_bytes(n) for n in (0, 512, 1 << 30, 1200 << 20, 8 << 40)] == [
        "0 bytes",
        "512 bytes",
        "1 GiB",
        "1.17 GiB",
        "8 TiB",
    ]
