"""Input tree validation: defaults and each of Pachyderm's error messages."""

from __future__ import annotations

import pytest

from tuskd.domain.errors import InvalidArgument
from tuskd.domain.inputs import Input, PfsInput, input_repos, validate_input


def pfs(repo: str = "images", glob: str = "/*", **kw: object) -> Input:
    return Input(pfs=PfsInput(repo=repo, glob=glob, **kw))  # type: ignore[arg-type]


def invalid(node: Input) -> str:
    with pytest.raises(InvalidArgument) as info:
        validate_input(node)
    return info.value.message


def test_defaults_are_filled_in() -> None:
    node = Input(pfs=PfsInput(repo="images", glob="/*", branch="", project="", repo_type=""))
    got = validate_input(node)
    assert got.pfs == PfsInput(
        name="images", repo="images", branch="master", glob="/*", project="default", repo_type="user"
    )
    assert node.pfs is not None and node.pfs.name == ""  # the original is untouched


def test_explicit_values_are_kept() -> None:
    got = validate_input(pfs(name="in", branch="dev", glob="*/", project="p", commit="c" * 32))
    assert got.pfs is not None
    assert (got.pfs.name, got.pfs.branch, got.pfs.glob, got.pfs.project, got.pfs.commit) == (
        "in",
        "dev",
        "*/",
        "p",
        "c" * 32,
    )


def test_nested_defaults() -> None:
    got = validate_input(Input(cross=(pfs("a"), Input(union=(pfs("b"), pfs("c"))))))
    assert [p.name for p in input_repos(got)] == ["a", "b", "c"]
    assert all(p.branch == "master" for p in input_repos(got))


def test_no_input_set() -> None:
    assert invalid(Input()) == "no input set"
    assert invalid(Input(cross=())) == "no input set"
    assert invalid(Input(cross=(Input(),))) == "no input set"


def test_multiple_input_types_set() -> None:
    message = invalid(Input(pfs=PfsInput(repo="a", glob="/"), cross=(pfs("b"),)))
    assert message.startswith("multiple input types set")
    assert invalid(Input(union=(pfs("a"),), join=(pfs("b", join_on="$1"),))).startswith("multiple input types set")


def test_repo_required() -> None:
    assert invalid(Input(pfs=PfsInput(glob="/*"))) == "input must specify a repo"
    assert invalid(Input(pfs=PfsInput(repo="  ", glob="/*"))) == "input must specify a repo"


def test_glob_required() -> None:
    assert invalid(Input(pfs=PfsInput(repo="a"))) == "input must specify a glob"


def test_branch_required_only_when_blank() -> None:
    assert invalid(pfs(branch="  ")) == "input must specify a branch"
    got = validate_input(pfs(branch=""))
    assert got.pfs is not None and got.pfs.branch == "master"


def test_names_unique() -> None:
    assert invalid(Input(cross=(pfs("a"), pfs("a", glob="/")))) == 'name "a" was used more than once'
    assert invalid(Input(cross=(pfs("a", name="x"), pfs("b", name="x")))) == ('name "x" was used more than once')
    nested = Input(cross=(pfs("a"), Input(union=(pfs("b"), pfs("a", glob="/")))))
    assert invalid(nested) == 'name "a" was used more than once'
    joined = Input(join=(pfs("a", join_on="$1", glob="/(*)"), pfs("a", join_on="$1", glob="/(*)")))
    assert invalid(joined) == 'name "a" was used more than once'


def test_union_branches_may_share_names() -> None:
    got = validate_input(Input(union=(pfs("a"), pfs("a", glob="/"), pfs("b", name="a"))))
    assert [p.name for p in input_repos(got)] == ["a", "a", "a"]


@pytest.mark.parametrize("name", ["out", "has space", "a/b", "a.b", "ü", "a\n"])
def test_invalid_names(name: str) -> None:
    message = invalid(pfs(name=name))
    assert f'input name "{name}"' in message
    assert ("reserved" in message) if name == "out" else ("only letters, digits" in message)


def test_repo_name_is_the_default_name_and_checked() -> None:
    assert 'input name "out"' in invalid(pfs("out"))
    assert validate_input(pfs("out", name="upstream")).pfs is not None


def test_invalid_glob_is_reported_with_the_input_name() -> None:
    message = invalid(pfs(glob="/[abc"))
    assert message.startswith('input "images" has an invalid glob: invalid glob pattern')
    assert "unbalanced '['" in message


def test_join_needs_join_on() -> None:
    message = invalid(Input(join=(pfs("a", glob="/(*)", join_on="$1"), pfs("b", glob="/(*)"))))
    assert message == 'input "b" is part of a join and must specify join_on'


def test_group_needs_group_by() -> None:
    message = invalid(Input(group=(pfs("a", glob="/(*)"),)))
    assert message == 'input "a" is part of a group and must specify group_by'


def test_join_and_group_children_must_be_pfs() -> None:
    message = invalid(Input(join=(pfs("a", glob="/(*)", join_on="$1"), Input(cross=(pfs("b"),)))))
    assert message == "every input of a join must be a pfs input, not a cross"
    message = invalid(Input(group=(Input(union=(pfs("b", glob="/(*)", group_by="$1"),)),)))
    assert message == "every input of a group must be a pfs input, not a union"


def test_template_must_refer_to_existing_captures() -> None:
    message = invalid(Input(join=(pfs("a", glob="/(*)", join_on="$2"),)))
    assert message == 'input "a" join_on "$2" refers to $2 but its glob "/(*)" has 1 capture group(s)'
    message = invalid(Input(group=(pfs("a", glob="/*", group_by="$1"),)))
    assert "group_by" in message and "has 0 capture group(s)" in message


def test_valid_join_and_group() -> None:
    got = validate_input(
        Input(
            cross=(
                Input(join=(pfs("a", glob="/(*).csv", join_on="$1"), pfs("b", glob="/(*)", join_on="$1"))),
                Input(group=(pfs("c", glob="/(*)/*", group_by="$1"),)),
            )
        )
    )
    assert [p.repo for p in input_repos(got)] == ["a", "b", "c"]


def test_errors_are_invalid_argument_with_reason() -> None:
    with pytest.raises(InvalidArgument) as info:
        validate_input(Input())
    assert info.value.reason == "INVALID_INPUT"


def test_input_repos_lists_leaves_in_spec_order() -> None:
    tree = Input(union=(Input(cross=(pfs("x"), pfs("y"))), pfs("z")))
    assert [p.repo for p in input_repos(tree)] == ["x", "y", "z"]
    assert tree.kind() == "union"
    assert Input().kind() == ""
