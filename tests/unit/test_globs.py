"""Glob patterns: each wildcard, normalisation, captures, templates, malformed input, bounds."""

from __future__ import annotations

import random
import re
import time

import pytest

from tuskd.domain.errors import InvalidArgument
from tuskd.domain.globs import (
    _compile_without_regex,
    compile_glob,
    expand_template,
    normalize_path,
    template_references,
)


def both(pattern: str, path: str) -> bool:
    """Match on the default engine and on the automaton; they must agree."""
    fast = compile_glob(pattern).match(path)
    slow = _compile_without_regex(pattern).match(path)
    assert fast == slow, (pattern, path)
    return fast


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        # * stays within one component, may be empty inside it
        ("/*", "/a", True),
        ("/*", "/abc.txt", True),
        ("/*", "/a/b", False),
        ("/a*", "/a", True),
        ("/*.csv", "/x.csv", True),
        ("/*.csv", "/d/x.csv", False),
        ("/*/*", "/a/b", True),
        ("/*/*", "/a", False),
        ("/*/*", "/a/b/c", False),
        # ** crosses /
        ("/**", "/a", True),
        ("/**", "/a/b/c", True),
        ("/**.csv", "/a/b/c.csv", True),
        ("/**/x", "/a/b/x", True),
        ("/**/x", "/x", False),
        ("/a/***", "/a/b/c", True),
        # ?
        ("/?", "/a", True),
        ("/?", "/ab", False),
        ("/a?c", "/a/c", False),
        # classes
        ("/[abc]", "/b", True),
        ("/[abc]", "/d", False),
        ("/[a-c]x", "/cx", True),
        ("/[a-c]x", "/dx", False),
        ("/[!a]", "/b", True),
        ("/[!a]", "/a", False),
        ("/[^a]", "/b", True),
        ("/[^a]", "/a", False),
        ("/a[!x]b", "/a/b", False),
        ("/[-a]", "/-", True),
        ("/[a-]", "/-", True),
        ("/[\\]]", "/]", True),
        # braces
        ("/{a,b}", "/a", True),
        ("/{a,b}", "/b", True),
        ("/{a,b}", "/c", False),
        ("/{a,b}.txt", "/b.txt", True),
        ("/{x,y/*}", "/y/z", True),
        ("/{a,{b,c}d}", "/cd", True),
        ("/x{,y}", "/x", True),
        ("/x{,y}", "/xy", True),
        ("/{*.csv,*.json}", "/a.json", True),
        # escapes and literal specials
        ("/a\\*", "/a*", True),
        ("/a\\*", "/ab", False),
        ("/a,b", "/a,b", True),
        # literal paths
        ("/a/b", "/a/b", True),
        ("/a/b", "/a/bc", False),
    ],
)
def test_match(pattern: str, path: str, expected: bool) -> None:
    assert both(pattern, path) is expected


def test_root_is_matched_only_by_root() -> None:
    assert both("/", "/")
    for pattern in ("/*", "/**", "/?", "/{,a}"):
        assert not both(pattern, "/"), pattern
    assert not both("/", "/a")
    assert compile_glob("/").is_root
    assert compile_glob("/").captures("/") == ()


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("*", "/*"),
        ("a/b", "/a/b"),
        ("/a/", "/a"),
        ("a/", "/a"),
        ("/", "/"),
        ("//", "/"),
        ("//a//b//", "/a/b"),
        ("**", "/**"),
        ("/[!a]", "/[!a]"),
        ("/[^a]", "/[!a]"),
        ("/(*)", "/(*)"),
    ],
)
def test_normalisation(raw: str, normal: str) -> None:
    assert compile_glob(raw).pattern == normal
    assert compile_glob(raw) == compile_glob(normal)


def test_paths_are_normalised_too() -> None:
    assert normalize_path("a/b/") == "/a/b"
    assert normalize_path("") == "/"
    assert normalize_path("//a//b") == "/a/b"
    assert both("/*", "a/")
    assert both("/a/*", "a//b")


@pytest.mark.parametrize(
    ("pattern", "path", "captures"),
    [
        ("/(*)", "/abc", ("abc",)),
        ("/(*)/(*).txt", "/d/f.txt", ("d", "f")),
        ("/(*)-(*)", "/a-b-c", ("a-b", "c")),  # leftmost-first, greedy stars
        ("/(**)/(*)", "/a/b/c", ("a/b", "c")),
        ("/(a(*))", "/abc", ("abc", "bc")),
        ("/{(a*),(b*)}", "/bz", ("", "bz")),  # a group in an alternative not taken is empty
        ("/{(a*),(b*)}", "/az", ("az", "")),
        ("/(?)(?)", "/xy", ("x", "y")),
        ("/*", "/x", ()),
    ],
)
def test_captures(pattern: str, path: str, captures: tuple[str, ...]) -> None:
    assert compile_glob(pattern).captures(path) == captures
    assert _compile_without_regex(pattern).captures(path) == captures
    assert compile_glob(pattern).groups == len(captures)


def test_captures_none_when_no_match() -> None:
    assert compile_glob("/(*)").captures("/a/b") is None
    assert compile_glob("/{(a)}").captures("/b") is None


def test_expand_template() -> None:
    assert expand_template("$1", ("a", "b")) == "a"
    assert expand_template("$2-$1", ("a", "b")) == "b-a"
    assert expand_template("x$$1", ("a",)) == "x$1"
    assert expand_template("$0 $x $", ("a",)) == "$0 $x $"
    assert expand_template("$12", ("a",)) == "a2"
    assert expand_template("plain", ()) == "plain"
    with pytest.raises(InvalidArgument, match=r"refers to \$3 but the glob has only 2"):
        expand_template("$3", ("a", "b"))
    assert template_references("$1/$3$$2") == {1, 3}


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        ("", "the pattern is empty"),
        ("/[abc", "unbalanced '['"),
        ("/abc]", "unbalanced ']'"),
        ("/{a,b", "unbalanced '{'"),
        ("/a}", "unbalanced '}'"),
        ("/(a", "unbalanced '('"),
        ("/a)", "unbalanced ')'"),
        ("/{(a,b}", "unbalanced '}'"),
        ("/[]", "empty character class"),
        ("/[!]", "empty character class"),
        ("/[z-a]", "character range z-a is reversed"),
        ("/[a/]", "cannot match '/'"),
        ("/a\\", "trailing backslash"),
        ("/a\x00b", "NUL characters are not allowed"),
        ("/" + "a" * 4096, "longer than the 4096-character limit"),
    ],
)
def test_malformed_patterns(pattern: str, fragment: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        compile_glob(pattern)
    assert fragment in info.value.message
    assert info.value.message.startswith("invalid glob pattern")


def test_error_names_the_position() -> None:
    with pytest.raises(InvalidArgument, match="at position 3"):
        compile_glob("/a/[bc")


def test_longest_allowed_pattern_compiles() -> None:
    assert compile_glob("/" + "a" * 4095).match("/" + "a" * 4095)


@pytest.mark.timeout(30)
def test_pathological_patterns_are_bounded() -> None:
    long_a = "/" + "a" * 10_000
    cases = [
        ("*a*a*a*a*a*a*a*a*b", long_a, False),
        ("{*a,*b}*a*a*a*a*a*a*b", long_a, False),
        ("**a**a**a**a**a**a**b", long_a, False),
        ("(*)a(*)a(*)a(*)a(*)a(*)a(*)a(*)b", long_a + "b", True),
    ]
    for pattern, path, expected in cases:
        glob = compile_glob(pattern)
        start = time.perf_counter()
        assert glob.match(path) is expected
        captures = glob.captures(path)
        elapsed = time.perf_counter() - start
        assert (captures is not None) is expected
        assert elapsed < 2.0, f"{pattern} took {elapsed:.2f}s"
    captures = compile_glob("(*)a(*)a(*)b").captures("/" + "a" * 10_000 + "b")
    assert captures == ("a" * 9_998, "", "")


def _random_case(rng: random.Random) -> tuple[str, str]:
    """A random glob with an equivalent Python regex written independently of globs.py."""

    def piece(depth: int) -> tuple[str, str]:
        kind = rng.choice("llllss?c/" + ("gb" if depth < 2 else ""))
        if kind == "l":
            ch = rng.choice("ab.")
            return ch, re.escape(ch)
        if kind == "s":
            return ("*", "[^/]*") if rng.random() < 0.7 else ("**", ".*")
        if kind == "?":
            return "?", "[^/]"
        if kind == "c":
            return ("[ab]", "[ab]") if rng.random() < 0.5 else ("[!a]", "[^a/]")
        if kind == "/":
            return "/", "/"
        if kind == "g":
            g, r = seq(depth + 1)
            return f"({g})", f"({r})"
        options = [seq(depth + 1) for _ in range(rng.randint(1, 3))]
        return "{" + ",".join(g for g, _ in options) + "}", "(?:" + "|".join(r for _, r in options) + ")"

    def seq(depth: int) -> tuple[str, str]:
        globs: list[str] = []
        regexes: list[str] = []
        for _ in range(rng.randint(0, 4)):
            g, r = piece(depth)
            if globs and globs[-1].endswith("*") and g.startswith("*"):
                continue  # two star pieces side by side would read as one longer star run
            globs.append(g)
            regexes.append(r)
        return "".join(globs), "".join(regexes)

    g, r = seq(0)
    return "/" + g, "/" + r


def test_engines_agree_with_an_independent_regex() -> None:
    rng = random.Random(20240611)
    paths = [
        "/" + "/".join(rng.choice(["a", "b", "ab", "a.b", "ba", "."]) for _ in range(rng.randint(1, 3)))
        for _ in range(60)
    ]
    checked = 0
    for _ in range(400):
        pattern, regex = _random_case(rng)
        try:
            glob = compile_glob(pattern)
        except InvalidArgument:
            continue
        if glob.pattern != pattern:
            continue  # normalisation changed it (e.g. "//"), so the regex no longer applies
        automaton = _compile_without_regex(pattern)
        compiled = re.compile(regex, re.DOTALL)
        for path in paths:
            m = compiled.fullmatch(path)
            expected = None if m is None else tuple(g or "" for g in m.groups())
            assert glob.match(path) is (m is not None), (pattern, path)
            assert automaton.match(path) is (m is not None), (pattern, path)
            assert glob.captures(path) == expected, (pattern, path)
            assert automaton.captures(path) == expected, (pattern, path)
            checked += 1
    assert checked > 10_000
