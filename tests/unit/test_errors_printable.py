"""`printable`: another server's words reach a terminal or a log line as text, never as
escape sequences or forged lines."""

from __future__ import annotations

from crosscheck.drivers.gerrit.errors import MAX_DETAIL, GerritHttpError
from crosscheck.errors import printable

HOSTILE = "[red]x[/red] \x1b[31mred\x1b[0m \x1b]0;title\x07 \u202eevil\nforged line\t\x9b"


def test_what_a_terminal_would_act_on_is_written_as_its_escape() -> None:
    shown = printable(HOSTILE)
    assert shown.isprintable()
    assert shown == (
        "[red]x[/red] \\x1b[31mred\\x1b[0m \\x1b]0;title\\x07 \\u202eevil\\nforged line\\t\\x9b"
    )


def test_printable_text_is_left_as_it_is() -> None:
    for text in ("", "plain", "déjà vu 中文 — [bold]", "back\\slash 'quoted'"):
        assert printable(text) == text
    # Text that str.isprintable() refuses but a terminal only shows: a no-break space
    # (French puts one before a colon), a soft hyphen, an emoji's joiner.
    for text in ("Erreur\xa0: refusé", "hyphen\xadated", "👩\u200d💻"):
        assert printable(text) == text


def test_a_limit_cuts_before_escaping_so_no_escape_is_cut_in_half() -> None:
    assert printable("ab\x1bcd", 3) == "ab\\x1b"
    assert printable("abc", 10) == "abc"


def test_gerrit_s_answer_is_quoted_printable_and_bounded() -> None:
    hostile = GerritHttpError("POST", "https://review.example/a/changes/1/review", 500, HOSTILE)
    assert str(hostile).isprintable()
    assert "\\x1b[31mred" in str(hostile)
    assert "forged line" not in str(hostile)  # the first line only
    long = GerritHttpError("GET", "https://review.example/a/x", 502, "<p>" + "a" * 10_000)
    assert str(long).endswith("a" * (MAX_DETAIL - 3) + "...")
    assert len(str(long)) < MAX_DETAIL + 100
    assert long.body.endswith("a" * 10_000)  # the whole answer is kept for the code
