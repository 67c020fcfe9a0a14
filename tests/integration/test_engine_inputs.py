"""Input combinators (cross, union, join, group) end to end on a real server (helpers:
test_engine.py)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import RunningServer
from tests.integration.test_engine import (
    S,
    create_pipeline,
    create_repo,
    datums,
    files,
    make_spec,
    pfs_in,
    progress,
    put,
    wait_all,
)
from tuskd.domain.inputs import Input

pytestmark = pytest.mark.timeout(60)


# --------------------------------------------------------------------------------------------
# Input combinators
# --------------------------------------------------------------------------------------------


def _names_of(server: RunningServer, pipeline: str, job_id: str) -> list[list[str]]:
    return sorted(
        sorted(f"{i['name']}:{i['path']}" for i in json.loads(d.inputs_json)) for d in datums(server, pipeline, job_id)
    )


def test_cross_union_join_group_end_to_end(server: RunningServer) -> None:
    for repo in ("left", "right"):
        create_repo(server, repo)
    put(server, "left", {"/1-a.txt": b"L1a", "/2-b.txt": b"L2b"})
    put(server, "right", {"/1.csv": b"R1", "/3.csv": b"R3"})
    write = 'for v in $(env | grep -E "^(left|right|l2|r2)=" | sort); do echo "$v"; done > /pfs/out/$PACH_DATUM_ID'

    create_pipeline(server, make_spec("cross", write, Input(cross=(pfs_in("left"), pfs_in("right")))))
    create_pipeline(server, make_spec("union", write, Input(union=(pfs_in("left"), pfs_in("right")))))
    create_pipeline(
        server,
        make_spec(
            "join",
            write,
            Input(join=(pfs_in("left", "/(*)-*", join_on="$1"), pfs_in("right", "/(*).csv", join_on="$1"))),
        ),
    )
    create_pipeline(
        server,
        make_spec(
            "group",
            'echo "$l2 $r2" > /pfs/out/$PACH_DATUM_ID; for f in $l2 $r2; do test -f "$f" || exit 5; done',
            Input(
                group=(
                    pfs_in("left", "/(*)-*", name="l2", group_by="$1"),
                    pfs_in("right", "/(*).csv", name="r2", group_by="$1"),
                )
            ),
        ),
    )
    results = {name: wait_all(server, name, 1)[0] for name in ("cross", "union", "join", "group")}
    assert {n: (j.state, progress(j)) for n, j in results.items()} == {
        "cross": (S.JOB_SUCCESS, "4 + 0 / 4"),
        "union": (S.JOB_SUCCESS, "4 + 0 / 4"),
        "join": (S.JOB_SUCCESS, "1 + 0 / 1"),
        "group": (S.JOB_SUCCESS, "3 + 0 / 3"),
    }
    assert _names_of(server, "join", results["join"].key.id) == [["left:/1-a.txt", "right:/1.csv"]]
    assert _names_of(server, "cross", results["cross"].key.id)[0] == ["left:/1-a.txt", "right:/1.csv"]
    join_out = files(server, "join", results["join"].key.id)
    assert list(join_out.values()) == [b"left=/pfs/left/1-a.txt\nright=/pfs/right/1.csv\n"]
    group_out = sorted(files(server, "group", results["group"].key.id).values())
    assert group_out == [b" /pfs/r2/3.csv\n", b"/pfs/l2/1-a.txt /pfs/r2/1.csv\n", b"/pfs/l2/2-b.txt \n"]
