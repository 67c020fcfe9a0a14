"""The datum planner on the semantics' examples: globs, combinators, identity, hashing, scale."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence

import pytest

from tuskd.domain.datums import (
    Datum,
    DatumInput,
    FileEntry,
    datum_hash,
    datum_id,
    directory_hash,
    plan_datums,
)
from tuskd.domain.errors import InvalidArgument
from tuskd.domain.inputs import Input, PfsInput


def entries(files: Mapping[str, str]) -> list[FileEntry]:
    """A listing of files (path -> content); directories are left for the planner to derive."""
    return [
        FileEntry(path, False, len(body), hashlib.sha256(body.encode()).hexdigest()) for path, body in files.items()
    ]


class Repos:
    """Listings by repo name, counting how often each repo is listed."""

    def __init__(self, **repos: Mapping[str, str] | Sequence[FileEntry]) -> None:
        self.repos = {
            name: entries(files) if isinstance(files, Mapping) else list(files) for name, files in repos.items()
        }
        self.calls: list[str] = []

    def __call__(self, pfs: PfsInput) -> list[FileEntry]:
        self.calls.append(pfs.repo)
        return self.repos[pfs.repo]


def pfs(repo: str, glob: str, **kw: object) -> Input:
    return Input(pfs=PfsInput(repo=repo, glob=glob, **kw))  # type: ignore[arg-type]


def paths(datums: list[Datum]) -> list[tuple[str, ...]]:
    return [tuple(inp.path for inp in d.inputs) for d in datums]


def names(datum: Datum) -> list[str]:
    return [f"{inp.name}:{inp.path}" for inp in datum.inputs]


TREE = {
    "/a.txt": "1",
    "/b/c.txt": "2",
    "/b/d/e.txt": "3",
    "/f/g.txt": "4",
}


def test_root_glob_is_one_datum_with_the_whole_repo() -> None:
    datums = plan_datums(pfs("r", "/"), Repos(r=TREE))
    assert len(datums) == 1
    (inp,) = datums[0].inputs
    assert (inp.name, inp.repo, inp.branch, inp.path, inp.is_dir) == ("r", "r", "master", "/", True)
    assert [f.path for f in inp.files] == sorted(TREE)


def test_star_is_one_datum_per_top_level_entry() -> None:
    datums = plan_datums(pfs("r", "/*"), Repos(r=TREE))
    assert paths(datums) == [("/a.txt",), ("/b",), ("/f",)]
    a, b, f = (d.inputs[0] for d in datums)
    assert not a.is_dir and a.files == (FileEntry("/a.txt", False, 1, a.hash),)
    assert b.is_dir and [x.path for x in b.files] == ["/b/c.txt", "/b/d/e.txt"]  # whole subtree
    assert f.is_dir and [x.path for x in f.files] == ["/f/g.txt"]


def test_star_star_is_one_datum_per_second_level_entry() -> None:
    datums = plan_datums(pfs("r", "/*/*"), Repos(r=TREE))
    assert paths(datums) == [("/b/c.txt",), ("/b/d",), ("/f/g.txt",)]
    assert [f.path for f in datums[1].inputs[0].files] == ["/b/d/e.txt"]


def test_double_star_matches_every_file_and_directory() -> None:
    datums = plan_datums(pfs("r", "/**"), Repos(r=TREE))
    assert paths(datums) == [
        ("/a.txt",),
        ("/b",),
        ("/b/c.txt",),
        ("/b/d",),
        ("/b/d/e.txt",),
        ("/f",),
        ("/f/g.txt",),
    ]


def test_file_globs() -> None:
    assert paths(plan_datums(pfs("r", "/**.txt"), Repos(r=TREE))) == [
        ("/a.txt",),
        ("/b/c.txt",),
        ("/b/d/e.txt",),
        ("/f/g.txt",),
    ]
    assert paths(plan_datums(pfs("r", "/{a.txt,f}"), Repos(r=TREE))) == [("/a.txt",), ("/f",)]


def test_no_match_and_empty_commit_give_zero_datums() -> None:
    assert plan_datums(pfs("r", "/*.csv"), Repos(r=TREE)) == []
    assert plan_datums(pfs("r", "/"), Repos(r={})) == []
    assert plan_datums(pfs("r", "/*"), Repos(r={})) == []


def test_listed_directories_and_unnormalised_paths() -> None:
    listing = [
        FileEntry("x/", True, 0, ""),  # an empty directory, written the way pfs lists dirs
        FileEntry("y/z.txt", False, 3, "ab" * 32),
        FileEntry("/y/", True, 0, ""),
    ]
    datums = plan_datums(pfs("r", "/*"), Repos(r=listing))
    assert paths(datums) == [("/x",), ("/y",)]
    x, y = (d.inputs[0] for d in datums)
    assert x.is_dir and x.files == ()
    assert y.files == (FileEntry("/y/z.txt", False, 3, "ab" * 32),)
    # A listing holding only an empty directory still has a root to match.
    assert paths(plan_datums(pfs("r", "/"), Repos(r=listing[:1]))) == [("/",)]


def test_inconsistent_listings_are_rejected() -> None:
    clash = [FileEntry("/a", False, 1, "00"), FileEntry("/a/b", False, 1, "01")]
    with pytest.raises(InvalidArgument, match="both a file and a directory at /a"):
        plan_datums(pfs("r", "/*"), Repos(r=clash))
    twice = [FileEntry("/a", False, 1, "00"), FileEntry("/a", False, 1, "01")]
    with pytest.raises(InvalidArgument, match="two different files at /a"):
        plan_datums(pfs("r", "/*"), Repos(r=twice))
    same = [FileEntry("/a", False, 1, "00"), FileEntry("/a", False, 1, "00")]
    assert len(plan_datums(pfs("r", "/*"), Repos(r=same))) == 1


def test_ids_are_stable_across_content_changes_while_hashes_change() -> None:
    before = plan_datums(pfs("r", "/*"), Repos(r=TREE))
    after = plan_datums(pfs("r", "/*"), Repos(r={**TREE, "/a.txt": "changed", "/b/d/e.txt": "x"}))
    assert [d.id for d in before] == [d.id for d in after]
    changed = [datum_hash(b, "salt") != datum_hash(a, "salt") for b, a in zip(before, after, strict=True)]
    assert changed == [True, True, False]  # /a.txt and /b changed, /f did not


def test_renaming_inside_a_directory_changes_its_hash_not_its_id() -> None:
    before = plan_datums(pfs("r", "/*"), Repos(r={"/d/x": "1"}))[0]
    after = plan_datums(pfs("r", "/*"), Repos(r={"/d/y": "1"}))[0]
    assert before.id == after.id
    assert before.inputs[0].hash != after.inputs[0].hash
    assert datum_hash(before, "") != datum_hash(after, "")


def test_salt_changes_hashes_not_ids() -> None:
    (datum,) = plan_datums(pfs("r", "/"), Repos(r=TREE))
    assert datum_hash(datum, "s1") != datum_hash(datum, "s2")
    assert datum_hash(datum, "s1") == datum_hash(datum, "s1")
    assert len(datum.id) == 64 and int(datum.id, 16) >= 0


def test_id_depends_on_name_repo_branch_and_path_only() -> None:
    def one(name: str, repo: str, branch: str, path: str, content_hash: str = "00") -> DatumInput:
        return DatumInput(name, repo, branch, path, content_hash, False, ())

    base = datum_id([one("n", "r", "master", "/a")])
    assert datum_id([one("n", "r", "master", "/a", "ff")]) == base
    for variant in (
        one("m", "r", "master", "/a"),
        one("n", "q", "master", "/a"),
        one("n", "r", "dev", "/a"),
        one("n", "r", "master", "/b"),
    ):
        assert datum_id([variant]) != base
    # fields are length-prefixed: moving a character between fields changes the ID
    assert datum_id([one("ab", "c", "m", "/")]) != datum_id([one("a", "bc", "m", "/")])


def test_directory_hash_covers_relative_paths_and_file_hashes() -> None:
    files = [FileEntry("/d/x", False, 1, "01"), FileEntry("/d/y/z", False, 1, "02")]
    moved = [FileEntry("/e/x", False, 1, "01"), FileEntry("/e/y/z", False, 1, "02")]
    assert directory_hash("/d", files) == directory_hash("/e", moved)  # relative paths only
    assert directory_hash("/d", files) == directory_hash("/d", list(reversed(files)))
    assert directory_hash("/d", files) != directory_hash("/d", files[:1])
    assert directory_hash("/", [FileEntry("/x", False, 1, "01")]) == directory_hash(
        "/d", [FileEntry("/d/x", False, 1, "01")]
    )


def test_branch_changes_identity() -> None:
    master = plan_datums(pfs("r", "/*"), Repos(r=TREE))
    dev = plan_datums(pfs("r", "/*", branch="dev"), Repos(r=TREE))
    assert {d.id for d in master}.isdisjoint(d.id for d in dev)
    assert all(d.inputs[0].branch == "dev" for d in dev)


def test_cross_is_the_cartesian_product() -> None:
    repos = Repos(a={"/1": "x", "/2": "y"}, b={"/p": "z", "/q": "w", "/r": "v"})
    datums = plan_datums(Input(cross=(pfs("a", "/*"), pfs("b", "/*"))), repos)
    assert len(datums) == 6
    assert [names(d) for d in datums[:2]] == [["a:/1", "b:/p"], ["a:/1", "b:/q"]]
    assert len({d.id for d in datums}) == 6


def test_cross_with_an_empty_child_has_zero_datums() -> None:
    repos = Repos(a={"/1": "x"}, b={})
    assert plan_datums(Input(cross=(pfs("a", "/*"), pfs("b", "/*"))), repos) == []
    repos = Repos(a={"/1": "x"}, b={"/q": "x"})
    assert plan_datums(Input(cross=(pfs("a", "/*"), pfs("b", "/*.csv"))), repos) == []


def test_union_concatenates() -> None:
    repos = Repos(a={"/1": "x", "/2": "y"}, b={"/3": "z"})
    datums = plan_datums(Input(union=(pfs("b", "/*"), pfs("a", "/*"))), repos)
    assert [names(d) for d in datums] == [["a:/1"], ["a:/2"], ["b:/3"]]
    # a union over the same input twice yields each datum once
    twice = plan_datums(Input(union=(pfs("a", "/*"), pfs("a", "/*"))), repos)
    assert [names(d) for d in twice] == [["a:/1"], ["a:/2"]]
    # union children with one name but different repos stay apart
    shared = plan_datums(Input(union=(pfs("a", "/*", name="in"), pfs("b", "/*", name="in"))), repos)
    assert [(d.inputs[0].repo, d.inputs[0].path) for d in shared] == [("a", "/1"), ("a", "/2"), ("b", "/3")]


def test_sibling_order_does_not_change_datums() -> None:
    repos = Repos(a={"/1": "x", "/2": "y"}, b={"/p": "z"}, c={"/k": "w"})
    one = plan_datums(Input(cross=(pfs("a", "/*"), Input(union=(pfs("b", "/*"), pfs("c", "/*"))))), repos)
    two = plan_datums(Input(cross=(Input(union=(pfs("c", "/*"), pfs("b", "/*"))), pfs("a", "/*"))), repos)
    assert one == two
    assert [names(d) for d in one] == [["a:/1", "c:/k"], ["a:/1", "b:/p"], ["a:/2", "c:/k"], ["a:/2", "b:/p"]]


STORES = {"/1.txt": "s1", "/2.txt": "s2", "/3.txt": "s3"}
RETURNS = {"/1.txt": "r1", "/2.txt": "r2", "/4.txt": "r4", "/x/2.txt": "r22"}


def join(outer_stores: bool = False, outer_returns: bool = False) -> Input:
    return Input(
        join=(
            pfs("stores", "/(*).txt", join_on="$1", outer_join=outer_stores),
            pfs("returns", "/**(?).txt", join_on="$1", outer_join=outer_returns),
        )
    )


def test_inner_join_crosses_equal_keys() -> None:
    datums = plan_datums(join(), Repos(stores=STORES, returns=RETURNS))
    assert [names(d) for d in datums] == [
        ["returns:/1.txt", "stores:/1.txt"],
        ["returns:/2.txt", "stores:/2.txt"],
        ["returns:/x/2.txt", "stores:/2.txt"],
    ]


def test_outer_join_keeps_unmatched_datums_of_outer_inputs() -> None:
    repos = Repos(stores=STORES, returns=RETURNS)
    inner = {tuple(names(d)) for d in plan_datums(join(), repos)}
    left = {tuple(names(d)) for d in plan_datums(join(outer_stores=True), repos)}
    assert left - inner == {("stores:/3.txt",)}
    right = {tuple(names(d)) for d in plan_datums(join(outer_returns=True), repos)}
    assert right - inner == {("returns:/4.txt",)}
    full = {tuple(names(d)) for d in plan_datums(join(True, True), repos)}
    assert full - inner == {("stores:/3.txt",), ("returns:/4.txt",)}


def test_outer_join_with_three_inputs_keeps_only_outer_inputs_of_partial_keys() -> None:
    repos = Repos(a={"/k1": "", "/k2": ""}, b={"/k1": "", "/k2": ""}, c={"/k1": ""})
    node = Input(
        join=(
            pfs("a", "/(*)", join_on="$1", outer_join=True),
            pfs("b", "/(*)", join_on="$1"),
            pfs("c", "/(*)", join_on="$1"),
        )
    )
    assert [names(d) for d in plan_datums(node, repos)] == [["a:/k1", "b:/k1", "c:/k1"], ["a:/k2"]]


def test_join_with_no_common_key_has_zero_datums() -> None:
    assert plan_datums(join(), Repos(stores={"/9.txt": ""}, returns={"/8.txt": ""})) == []


def test_group_merges_datums_sharing_a_key() -> None:
    repos = Repos(
        logs={"/2024-01/a.log": "", "/2024-01/b.log": "", "/2024-02/c.log": ""},
        meta={"/2024-01.json": "", "/2024-03.json": ""},
    )
    node = Input(
        group=(
            pfs("meta", "/(*).json", group_by="$1"),
            pfs("logs", "/(*)/*.log", group_by="$1"),
        )
    )
    datums = plan_datums(node, repos)
    assert [names(d) for d in datums] == [
        ["logs:/2024-01/a.log", "logs:/2024-01/b.log", "meta:/2024-01.json"],
        ["logs:/2024-02/c.log"],
        ["meta:/2024-03.json"],
    ]


def test_group_by_a_directory_key() -> None:
    repos = Repos(r={"/a/1": "", "/a/2": "", "/b/3": ""})
    node = Input(group=(pfs("r", "/(*)/*", group_by="$1"),))
    assert [names(d) for d in plan_datums(node, repos)] == [["r:/a/1", "r:/a/2"], ["r:/b/3"]]


def test_join_inside_cross() -> None:
    repos = Repos(stores=STORES, returns=RETURNS, config={"/c": ""})
    node = Input(cross=(join(), pfs("config", "/")))
    datums = plan_datums(node, repos)
    assert len(datums) == 3
    assert all(names(d)[0] == "config:/" for d in datums)  # "config" sorts before the join


def test_each_input_is_listed_once() -> None:
    repos = Repos(a={"/1": "", "/2": ""})
    plan_datums(Input(union=(pfs("a", "/*"), pfs("a", "/*"))), repos)
    assert repos.calls == ["a"]


def test_output_is_sorted_and_unique() -> None:
    repos = Repos(a={"/z": "", "/m": "", "/b/1": ""}, b={"/y": "", "/c": ""})
    datums = plan_datums(Input(union=(pfs("a", "/**"), pfs("b", "/*"))), repos)
    keys = [tuple(inp.path for inp in d.inputs) for d in datums]
    assert keys == sorted(keys)
    assert len({d.id for d in datums}) == len(datums)
    assert all(d.id == datum_id(d.inputs) and d == Datum.of(d.inputs) for d in datums)


def test_invalid_input_is_rejected_before_listing() -> None:
    repos = Repos(a={})
    with pytest.raises(InvalidArgument, match="input must specify a glob"):
        plan_datums(Input(pfs=PfsInput(repo="a")), repos)
    assert repos.calls == []


def _many(n: int, width: int) -> list[FileEntry]:
    return [FileEntry(f"/d{i % width:04d}/f{i:06d}", False, 1, f"{i:064x}") for i in range(n)]


@pytest.mark.timeout(60)
def test_five_thousand_files_plan_fast() -> None:
    flat = [FileEntry(f"/f{i:05d}", False, 1, f"{i:064x}") for i in range(5_000)]
    start = time.perf_counter()
    datums = plan_datums(pfs("r", "/*"), Repos(r=flat))
    elapsed = time.perf_counter() - start
    assert len(datums) == 5_000
    assert elapsed < 2.0, f"planning 5,000 files took {elapsed:.2f}s"


@pytest.mark.timeout(60)
def test_hundred_thousand_files_plan_in_linear_time() -> None:
    listing = _many(100_000, 500)
    start = time.perf_counter()
    datums = plan_datums(pfs("r", "/*"), Repos(r=listing))
    elapsed = time.perf_counter() - start
    assert len(datums) == 500
    assert sum(len(d.inputs[0].files) for d in datums) == 100_000
    assert elapsed < 10.0, f"planning 100,000 files took {elapsed:.2f}s"
