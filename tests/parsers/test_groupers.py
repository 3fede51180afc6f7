"""Line groupers (spec §5.8): which lines become one event, with the limits."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from millpond.parsers.groupers import DEFAULT_MAX_CHARS, compile_groupers, group_lines


def groups(rules: list[dict[str, object]], lines: list[str]) -> list[tuple[int, str]]:
    return group_lines(compile_groupers(rules), lines)


STACK = [
    "INFO starting",
    "ERROR boom",
    "java.lang.Exception: boom",
    "    at com.foo.bar(bar.java:123)",
    "    at com.foo.baz(baz.java:456)",
    "INFO done",
]


@pytest.mark.parametrize(
    ("rule", "lines", "expected"),
    [
        # continueThrough: following lines that match join; the start line need not match.
        (
            {"start": "^java", "continueThrough": "^\\s+at "},
            STACK,
            [
                (0, "INFO starting"),
                (1, "ERROR boom"),
                (2, "java.lang.Exception: boom\n    at com.foo.bar(bar.java:123)\n"
                 "    at com.foo.baz(baz.java:456)"),
                (5, "INFO done"),
            ],
        ),
        # ... and the line that ends the group is looked at afresh: it may start a group.
        (
            {"start": "^\\S", "continueThrough": "^\\s"},
            ["a", " 1", "b", " 2", " 3", "c"],
            [(0, "a\n 1"), (2, "b\n 2\n 3"), (5, "c")],
        ),
        # continuePast: lines that match, plus one more.
        (
            {"start": "\\\\$", "continuePast": "\\\\$"},
            ["x", "a \\", "b \\", "c", "d"],
            [(0, "x"), (1, "a \\\nb \\\nc"), (4, "d")],
        ),
        # continuePast: a start line that does not match is a group of one.
        (
            {"start": "^BEGIN", "continuePast": "\\\\$"},
            ["BEGIN", "x", "BEGIN \\", "y"],
            [(0, "BEGIN"), (1, "x"), (2, "BEGIN \\\ny")],
        ),
        # haltBefore: lines join until one matches; start and halt may be the same pattern.
        (
            {"start": "^\\d{4}-", "haltBefore": "^\\d{4}-"},
            ["2026-01-01 a", "more", "more", "2026-01-01 b", "2026-01-01 c", "x"],
            [(0, "2026-01-01 a\nmore\nmore"), (3, "2026-01-01 b"), (4, "2026-01-01 c\nx")],
        ),
        # haltWith: up to and including the first line that matches.
        (
            {"start": "^SELECT", "haltWith": ";$"},
            ["SELECT *", "FROM t", "WHERE 1;", "next"],
            [(0, "SELECT *\nFROM t\nWHERE 1;"), (3, "next")],
        ),
        # haltWith: the start line is tested too.
        (
            {"start": "^SELECT", "haltWith": ";$"},
            ["SELECT 1;", "SELECT 2;", "x"],
            [(0, "SELECT 1;"), (1, "SELECT 2;"), (2, "x")],
        ),
        # A group still open at the end of the lines closes there.
        (
            {"start": "^SELECT", "haltWith": ";$"},
            ["SELECT *", "FROM t"],
            [(0, "SELECT *\nFROM t")],
        ),
        # No line starts a group: every line is its own event.
        ({"start": "^nope", "continueThrough": "."}, ["a", "b"], [(0, "a"), (1, "b")]),
        # Patterns are searched for, not anchored.
        (
            {"start": "Exception", "continueThrough": "at "},
            ["x Exception y", "  at z", "q"],
            [(0, "x Exception y\n  at z"), (2, "q")],
        ),
    ],
)
def test_continuation_kinds(
    rule: dict[str, object], lines: list[str], expected: list[tuple[int, str]]
) -> None:
    assert groups([rule], lines) == expected


def test_first_matching_rule_wins() -> None:
    rules: list[dict[str, object]] = [
        {"start": "^A", "haltWith": "END"},
        {"start": "^A|^B", "continueThrough": "^\\s"},
    ]
    lines = ["A 1", " x", "END", "B 2", " y", "z"]
    assert groups(rules, lines) == [(0, "A 1\n x\nEND"), (3, "B 2\n y"), (5, "z")]


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        ({"maxLines": 3}, [(0, "E\n at 1\n at 2"), (3, " at 3\n at 4\n at 5"), (6, "next")]),
        ({"maxLines": 1}, [(0, "E"), (1, " at 1"), (2, " at 2"), (3, " at 3"), (4, " at 4"),
                           (5, " at 5"), (6, "next")]),
        # "E\n at 1\n at 2" is 13 characters; one more line would make 19.
        ({"maxChars": 13}, [(0, "E\n at 1\n at 2"), (3, " at 3\n at 4"), (5, " at 5"),
                            (6, "next")]),
        ({"maxChars": 12}, [(0, "E\n at 1"), (2, " at 2\n at 3"), (4, " at 4\n at 5"),
                            (6, "next")]),
        # Whichever limit is reached first.
        ({"maxChars": 100, "maxLines": 2}, [(0, "E\n at 1"), (2, " at 2\n at 3"),
                                            (4, " at 4\n at 5"), (6, "next")]),
    ],
)
def test_limits_split_a_group_and_carry_on(
    limits: dict[str, int], expected: list[tuple[int, str]]
) -> None:
    lines = ["E", " at 1", " at 2", " at 3", " at 4", " at 5", "next"]
    assert groups([{"start": "^E", "continueThrough": "^ at", **limits}], lines) == expected


def test_a_line_longer_than_max_chars_is_never_cut() -> None:
    long = "x" * 50
    assert groups([{"start": "^E", "continueThrough": "^x", "maxChars": 10}], ["E", long]) == [
        (0, "E"),
        (1, long),
    ]


def test_haltwith_limit_split_keeps_looking_for_the_end() -> None:
    rule = {"start": "^BEGIN", "haltWith": "^END", "maxLines": 2}
    lines = ["BEGIN", "a", "b", "END", "after"]
    assert groups([rule], lines) == [(0, "BEGIN\na"), (2, "b\nEND"), (4, "after")]


def test_default_max_chars() -> None:
    (rule,) = compile_groupers([{"start": "a", "haltBefore": "b"}])
    assert rule.max_chars == DEFAULT_MAX_CHARS == 100_000
    assert rule.max_lines is None
    lines = ["a"] + ["y" * 999] * 150
    out = group_lines([rule], lines)
    assert all(len(message) <= DEFAULT_MAX_CHARS for _, message in out)
    assert "\n".join(m for _, m in out) == "\n".join(lines)


def test_no_lines() -> None:
    assert groups([{"start": "a", "haltBefore": "b"}], []) == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"start": "a"}, "[0]: a rule needs exactly one of continueThrough, continuePast, "
                         "haltBefore, haltWith, found none"),
        ({"start": "a", "haltBefore": "b", "haltWith": "c"},
         "[0]: a rule needs exactly one of continueThrough, continuePast, haltBefore, "
         "haltWith, found haltBefore and haltWith"),
        ({"continueThrough": "a"}, "[0]: 'start' is missing"),
        ({"start": "(", "haltWith": "b"}, "[0].start: bad regex '('"),
        ({"start": "a", "haltWith": "[b"}, "[0].haltWith: bad regex '[b'"),
        ({"start": "a", "haltWith": 3}, "[0].haltWith: must be a regex string, not the number 3"),
        ({"start": "a", "haltWith": "b", "maxLines": 0},
         "[0].maxLines: must be a positive whole number, not the number 0"),
        ({"start": "a", "haltWith": "b", "maxChars": 1.5},
         "[0].maxChars: must be a positive whole number, not the number 1.5"),
        ({"start": "a", "haltWith": "b", "maxChars": True},
         "[0].maxChars: must be a positive whole number, not true"),
        ({"start": "a", "haltWith": "b", "until": "c"}, "[0]: unknown key 'until'"),
        ("start", "[0]: a rule must be an object"),
    ],
)
def test_bad_rules_say_which_and_why(spec: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        compile_groupers([{"start": "x", "haltWith": "y"}, spec][1:])


def test_the_rule_index_is_named() -> None:
    with pytest.raises(ValueError, match=re.escape("[1].start: bad regex")):
        compile_groupers([{"start": "x", "haltWith": "y"}, {"start": "(", "haltWith": "y"}])
    with pytest.raises(ValueError, match="must be a list of rules"):
        compile_groupers({"start": "x"})


KINDS = ["continueThrough", "continuePast", "haltBefore", "haltWith"]


@given(
    kind=st.sampled_from(KINDS),
    lines=st.lists(st.text(alphabet="ab \n", max_size=6), max_size=30),
    max_lines=st.none() | st.integers(1, 5),
    max_chars=st.none() | st.integers(1, 20),
)
def test_grouping_keeps_every_line_in_order(
    kind: str, lines: list[str], max_lines: int | None, max_chars: int | None
) -> None:
    rule: dict[str, object] = {"start": "^a", kind: "b"}
    if max_lines:
        rule["maxLines"] = max_lines
    if max_chars:
        rule["maxChars"] = max_chars
    out = groups([rule], lines)
    starts = [index for index, _ in out]
    assert starts == sorted(set(starts))
    # Each event is the lines from its index to the next event's, joined.
    bounds = [*starts, len(lines)]
    for (index, message), stop in zip(out, bounds[1:], strict=True):
        assert message == "\n".join(lines[index:stop])
        if max_lines:
            assert stop - index <= max_lines
        if max_chars and stop - index > 1:
            assert len(message) <= max_chars
    assert (starts[:1] or [0]) == [0]
