"""Upload: one file of 1 GiB through ModifyFile (a client stream of 4 MiB AddFile chunks) into a
server running as its own process, against a plain local write of the same bytes (write + fsync,
as the blob store makes every upload durable) on the same filesystem, in the same run; and the
server's peak RSS growth during the upload (VmHWM reset just before it)."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from google.protobuf import wrappers_pb2

from bench.common import BenchError, MiB, branch_commit, raw_channel, repo_msg, server_process
from bench.harness import Row, Size, case
from tusk.proto.pfs_v2 import pfs_pb2, pfs_pb2_grpc

CHUNK = 4 * MiB


def plain_write_seconds(path: Path, chunk: bytes, count: int) -> float:
    t0 = time.perf_counter()
    with open(path, "wb") as out:
        for _ in range(count):
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    elapsed = time.perf_counter() - t0
    path.unlink()
    return elapsed


@case("upload")
def upload(size: Size) -> list[Row]:
    total = size.pick(1024, 16) * MiB
    count = total // CHUNK
    chunk = os.urandom(CHUNK)  # repeated: the whole file is one blob, hashed as a stream
    with tempfile.TemporaryDirectory(prefix="tusk-bench-upload-") as tmp:
        # The floor is the median of three plain writes (one before the upload, two after), each
        # after a sync so none pays for another's dirty pages: this VM's fsync is bimodal (a 1 GiB
        # write + fsync took 0.6 s in one run and 4 s in the next), so the best of them is not a
        # floor one can rely on, and the median is.
        os.sync()
        plain = [plain_write_seconds(Path(tmp) / "plain.bin", chunk, count)]
        os.sync()
        with server_process(Path(tmp) / "data") as sp, raw_channel(sp.address) as channel:
            stub = pfs_pb2_grpc.APIStub(channel)
            stub.CreateRepo(pfs_pb2.CreateRepoRequest(repo=repo_msg("big")), timeout=30)

            def requests(n: int, path: str) -> Iterator[pfs_pb2.ModifyFileRequest]:
                yield pfs_pb2.ModifyFileRequest(set_commit=branch_commit("big"))
                for _ in range(n):
                    yield pfs_pb2.ModifyFileRequest(
                        add_file=pfs_pb2.AddFile(path=path, raw=wrappers_pb2.BytesValue(value=chunk))
                    )

            stub.ModifyFile(requests(1, "/warm-up"), timeout=60)
            time.sleep(0.2)
            before = sp.rss()
            sp.reset_peak()
            t0 = time.perf_counter()
            stub.ModifyFile(requests(count, "/big"), timeout=600)
            ours_s = time.perf_counter() - t0
            peak = sp.peak_rss()
            info = stub.InspectFile(
                pfs_pb2.InspectFileRequest(file=pfs_pb2.File(commit=branch_commit("big"), path="/big")), timeout=30
            )
            if info.size_bytes != total:
                raise BenchError(f"uploaded {total} bytes, InspectFile says {info.size_bytes}")
        for _ in range(2):
            os.sync()
            plain.append(plain_write_seconds(Path(tmp) / "plain.bin", chunk, count))
    base_s = sorted(plain)[1]
    ours, base = total / MiB / ours_s, total / MiB / base_s
    growth = (peak - before) / MiB
    ratio = ours / base
    label = f"{total >> 30} GiB" if total >= 1 << 30 else f"{total // MiB} MiB"
    return [
        Row(f"upload {label} via ModifyFile vs plain write+fsync", ours, base, "MiB/s", ratio, ">= 0.5",
            ratio >= 0.5, f"{ours_s:.1f} s vs {base_s:.1f} s (plain writes: {', '.join(f'{p:.1f}' for p in plain)} s)",
            against="plain write + fsync of the same bytes, same filesystem (median of 3)"),
        Row(f"server peak RSS growth during the {label} upload", growth, float("nan"), "MiB", float("nan"),
            "< 100 MiB", growth < 100, f"RSS before the upload {before / MiB:.0f} MiB; VmHWM reset just before",
            against="none: an absolute goal (buffers, not the file, should grow)"),
    ]  # fmt: skip
