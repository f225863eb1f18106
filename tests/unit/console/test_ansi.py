"""ANSI SGR -> HTML and terminals: colours kept, everything else a build prints to steer a
page or a terminal dropped, whatever the input."""

from __future__ import annotations

import pytest

from crosscheck.console.ansi import plain, to_html, to_terminal


def test_text_is_escaped_before_anything_else() -> None:
    hostile = '<script>alert(1)</script> & "quoted" <img src=x onerror=alert(2)>'
    assert to_html(hostile) == (
        "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;quoted&#34; "
        "&lt;img src=x onerror=alert(2)&gt;"
    )


def test_colours_and_bold_become_spans_of_fixed_classes() -> None:
    line = "\x1b[1;31merror:\x1b[0m see \x1b[32mok\x1b[39m \x1b[94;42mbright\x1b[m done"
    assert to_html(line) == (
        '<span class="bold fg1">error:</span> see <span class="fg2">ok</span> '
        '<span class="fg12 bg2">bright</span> done'
    )


@pytest.mark.parametrize(
    ("line", "html"),
    [
        ("\x1b[1mb\x1b[22mn", '<span class="bold">b</span>n'),
        ("\x1b[3;4mx\x1b[23;24my", '<span class="italic underline">x</span>y'),
        ("\x1b[41mbg\x1b[49mno", '<span class="bg1">bg</span>no'),
        ("\x1b[107mw", '<span class="bg15">w</span>'),
        ("\x1b[31mr\x1b[1mrb", '<span class="fg1">r</span><span class="bold fg1">rb</span>'),
        ("\x1b[31ma\x1b[31mb", '<span class="fg1">ab</span>'),  # one run, one span
        ("\x1b[;1mx", '<span class="bold">x</span>'),  # an empty parameter is 0
    ],
)
def test_each_sgr_code(line: str, html: str) -> None:
    assert to_html(line) == html


def test_extended_colours_consume_their_arguments() -> None:
    # 38;5;1 is colour 1 (one of ours), never "38, blink, bold"; 38;2;r;g;b is left out.
    assert to_html("\x1b[38;5;1mr") == '<span class="fg1">r</span>'
    assert to_html("\x1b[38;5;200;1mx") == '<span class="bold">x</span>'
    assert to_html("\x1b[38;2;1;4;3mx") == "x"
    assert to_html("\x1b[48;5;4mx") == '<span class="bg4">x</span>'
    assert to_html("\x1b[38:2::255:0:0mx\x1b[4:3my") == "xy"


@pytest.mark.parametrize(
    ("line", "text"),
    [
        ("\x1b]0;owned title\x07after", "after"),  # OSC with BEL
        ("\x1b]0;owned title\x1b\\after", "after"),  # OSC with ST
        ("a\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\b", "alinkb"),  # a hyperlink
        ("\x1b]52;c;ZXZpbA==\x07clip", "clip"),  # a clipboard write
        ("a\x1b]0;never terminated", "a"),  # unterminated OSC: to the end of the line
        ("a\x1bPdevice control\x1b\\b", "ab"),  # DCS
        ("a\x1b_apc", "a"),  # unterminated APC
        ("\x1b[2J\x1b[Hcleared\x1b[5A\x1b[?25l", "cleared"),  # cursor moves, modes
        ("\x1b[6n", ""),  # a device status query
        ("a\x1b[31", "a"),  # an SGR cut short at the end
        ("a\x1b[", "a"),
        ("a\x1b", "a"),  # a lone ESC
        ("a\x1b(Bb\x1b=c", "abc"),  # charset and keypad escapes
        ("bell\x07 nul\x00 del\x7f c1\x9b31m", "bell nul del c131m"),  # controls dropped
        ("tab\tkept", "tab\tkept"),
        ("10%\r20%\r30%", "30%"),  # a progress bar's last state
        ("crlf\r", "crlf"),  # a return with nothing after it overwrites nothing
    ],
)
def test_every_other_escape_and_control_is_dropped(line: str, text: str) -> None:
    assert plain(line) == text
    assert str(to_html(line)) == text
    assert to_terminal(line) == text


def test_an_absurd_parameter_is_ignored_not_parsed() -> None:
    # int() of thousands of digits raises in Python 3.11: such a number is no code.
    assert to_html("\x1b[" + "9" * 5000 + "mx") == "x"
    assert to_html("\x1b[" + ";" * 10000 + "31mx") == '<span class="fg1">x</span>'


def test_a_hostile_line_inside_colours_stays_text() -> None:
    line = "\x1b[31m<script>alert(1)</script>\x1b]0;t\x07\x1b[0m"
    assert to_html(line) == '<span class="fg1">&lt;script&gt;alert(1)&lt;/script&gt;</span>'


def test_a_terminal_gets_the_colours_rebuilt_and_a_reset_at_the_end() -> None:
    line = "\x1b[1;31merr\x1b[0m ok \x1b[32mgreen"
    assert to_terminal(line) == "\x1b[0;1;31merr\x1b[0m ok \x1b[0;32mgreen\x1b[0m"
    assert to_terminal("no colour") == "no colour"
    assert plain(line) == "err ok green"
