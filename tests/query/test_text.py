"""The filter subset /api/query answers today: words and quoted phrases, all required (spec §4)."""

from __future__ import annotations

import pytest

from millpond.errors import BadParam
from millpond.query import parse_text_filter


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("", []),
        ("   ", []),
        ("error", ["error"]),
        ("  error  ", ["error"]),
        ("disk full", ["disk", "full"]),
        ("disk\tfull\nnow", ["disk", "full", "now"]),
        ("Disk FULL", ["Disk", "FULL"]),
        ("disk and full", ["disk", "full"]),
        ("disk AND full And now", ["disk", "full", "now"]),
        ('"disk full"', ["disk full"]),
        ("'disk full'", ["disk full"]),
        ('"disk full" error', ["disk full", "error"]),
        ('error "disk full" and "out of memory"', ["error", "disk full", "out of memory"]),
        ('""', []),
        ("''", []),
        ('"and"', ["and"]),  # quoted, a keyword is just text
        ('"a or b"', ["a or b"]),
        ('"x == 1 && (y)"', ["x == 1 && (y)"]),
        ('"say \\"hi\\""', ['say "hi"']),
        ("'it\\'s'", ["it's"]),
        ('"it\'s"', ["it's"]),
        ("'say \"hi\"'", ['say "hi"']),
        ('"back\\\\slash"', ["back\\slash"]),
        ('"tab\\there"', ["tab\there"]),
        ('"line\\nbreak"', ["line\nbreak"]),
        ('"cr\\rhere"', ["cr\rhere"]),
        ('"\\q"', ["q"]),
        ('abc"def"', ["abc", "def"]),
        ("path/to/file.log", ["path/to/file.log"]),
        ("user:alice", ["user:alice"]),
        ("-v", ["-v"]),
        ("café 日本", ["café", "日本"]),
        ("andrew oregon notably", ["andrew", "oregon", "notably"]),
    ],
)
def test_words_and_phrases_are_all_required(text: str, terms: list[str]) -> None:
    assert parse_text_filter(text) == terms


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("a or b", 3),
        ("a OR b", 3),
        ("not a", 1),
        ("a NOT b", 3),
        ("message contains 'x'", 9),
        ("message matches 'x'", 9),
        ("x in ('a')", 3),
        ("status == 500", 8),
        ("status != 500", 8),
        ("status > 500", 8),
        ("status < 500", 8),
        ("(a)", 1),
        ("a (b)", 3),
        ("a)", 2),
        ("a && b", 3),
        ("a || b", 3),
        ("!a", 1),
        ('$"literal"', 1),
        ("x $y", 3),
        ("foo*", 4),
        ("a,b", 2),
    ],
)
def test_the_rest_of_the_filter_language_is_refused_with_its_column(
    text: str, column: int
) -> None:
    with pytest.raises(BadParam) as info:
        parse_text_filter(text)
    message = info.value.message
    assert f"at column {column} " in message
    assert "not support" in message
    assert "quoted phrases" in message  # says what does work


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ('"open', 1),
        ("'open", 1),
        ('ok "open', 4),
        ('"mixed\'', 1),
        ('"escaped at the end\\"', 1),
        ('"trailing backslash\\', 1),
    ],
)
def test_an_unterminated_quote_is_refused(text: str, column: int) -> None:
    with pytest.raises(BadParam, match=rf"unterminated .* at column {column}; close the quote"):
        parse_text_filter(text)
