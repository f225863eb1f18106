"""`Depends-On:` footers: read from a commit message, each URL matched to its Gerrit."""

from __future__ import annotations

import pytest

from crosscheck.model.depends_on import (
    MAX_URL_LENGTH,
    ChangeRef,
    DependsOnError,
    change_url,
    depends_on_urls,
    parse_change_url,
    shown,
)

BASES = {
    "upstream": "https://review.opendev.org",
    "integrating": "https://gerrit.opnfv.org/gerrit/",
}


def test_footers_are_read_from_any_line_in_order() -> None:
    message = (
        "Add the thing\n"
        "\n"
        "Depends-On: https://review.opendev.org/c/openstack/nova/+/2\n"
        "More text.\n"
        "depends-on:   https://gerrit.opnfv.org/gerrit/c/1  \n"
        "DEPENDS-ON: https://review.opendev.org/3\n"
        "\n"
        "Change-Id: I0123456789abcdef0123456789abcdef01234567\n"
    )
    assert depends_on_urls(message) == [
        "https://review.opendev.org/c/openstack/nova/+/2",
        "https://gerrit.opnfv.org/gerrit/c/1",
        "https://review.opendev.org/3",
    ]


def test_a_repeated_footer_is_kept_once_at_its_first_place() -> None:
    message = "Depends-On: https://a/1\nDepends-On: https://b/2\nDepends-On: https://a/1\n"
    assert depends_on_urls(message) == ["https://a/1", "https://b/2"]


@pytest.mark.parametrize(
    "message",
    [
        "Fix a bug\n\nChange-Id: I0123456789abcdef0123456789abcdef01234567",
        "Mention Depends-On: https://review.opendev.org/1 inside a sentence",
        "Depends-On:\n",
        "Depends: https://review.opendev.org/1",
    ],
)
def test_messages_without_footers(message: str) -> None:
    assert depends_on_urls(message) == []


@pytest.mark.parametrize(
    "url",
    [
        "https://review.opendev.org/c/openstack/nova/+/12345",
        "https://review.opendev.org/c/openstack/nova/+/12345/",
        "https://review.opendev.org/c/openstack/nova/+/12345/3",
        "https://review.opendev.org/c/openstack/nova/+/12345/3/nova/api.py",
        "https://review.opendev.org/c/openstack/nova/+/12345/1..3",
        "https://review.opendev.org/c/12345",
        "https://review.opendev.org/c/12345/",
        "https://review.opendev.org/#/c/12345/",
        "https://review.opendev.org/#/c/12345/3",
        "https://review.opendev.org/#/c/openstack/nova/+/12345",
        "https://review.opendev.org/#/c/openstack/nova/+/12345/2",
        "https://review.opendev.org/12345",
        "https://review.opendev.org/12345/",
        "http://review.opendev.org/12345",
        "HTTPS://Review.OpenDev.org/c/12345",
        "https://review.opendev.org:443/c/12345",
        "review.opendev.org/c/openstack/nova/+/12345",
        "review.opendev.org:443/c/12345",
        "https://review.opendev.org/c/openstack/nova/+/12345?tab=comments",
        "https://review.opendev.org/c/openstack/nova/+/12345#message-abc",
        "https://review.opendev.org/c/123/+/12345",
    ],
)
def test_every_form_gerrit_shows(url: str) -> None:
    assert parse_change_url(url, BASES) == ChangeRef("upstream", 12345)


@pytest.mark.parametrize(
    "url",
    [
        "https://gerrit.opnfv.org/gerrit/c/releng/+/77",
        "https://gerrit.opnfv.org/gerrit/c/77",
        "https://gerrit.opnfv.org/gerrit/#/c/77/",
        "https://gerrit.opnfv.org/gerrit/77",
        "http://gerrit.opnfv.org/gerrit/77/",
    ],
)
def test_a_base_with_a_path_prefix(url: str) -> None:
    assert parse_change_url(url, BASES) == ChangeRef("integrating", 77)


def test_trailing_slashes_and_schemes_of_the_base_do_not_matter() -> None:
    bases = {"upstream": "http://review.example.org/"}
    found = parse_change_url("https://review.example.org/c/p/+/5", bases)
    assert found == ChangeRef("upstream", 5)


def test_a_base_pasted_with_its_trailing_slash_before_the_route_is_read() -> None:
    bases = {"upstream": "http://review.example.org/"}
    found = parse_change_url("http://review.example.org//c/p/+/5", bases)
    assert found == ChangeRef("upstream", 5)


def test_a_base_with_a_port() -> None:
    bases = {"local": "http://localhost:8080", "other": "http://localhost:8081"}
    assert parse_change_url("http://localhost:8081/c/9", bases) == ChangeRef("other", 9)
    assert parse_change_url("http://localhost:8080/c/9", bases) == ChangeRef("local", 9)


def test_a_base_at_an_ipv6_address() -> None:
    bases = {"v6": "http://[::1]:8080/"}
    assert parse_change_url("http://[::1]:8080/c/3", bases) == ChangeRef("v6", 3)


def test_the_longest_base_path_wins() -> None:
    bases = {"root": "https://host", "nested": "https://host/gerrit"}
    assert parse_change_url("https://host/gerrit/c/4", bases) == ChangeRef("nested", 4)
    assert parse_change_url("https://host/c/4", bases) == ChangeRef("root", 4)


def test_the_same_number_on_two_gerrits_is_two_changes() -> None:
    upstream = parse_change_url("https://review.opendev.org/c/100", BASES)
    integrating = parse_change_url("https://gerrit.opnfv.org/gerrit/c/100", BASES)
    assert upstream != integrating
    assert (upstream.label, integrating.label) == ("upstream:100", "integrating:100")


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/openstack/nova/pull/1",
        "https://review.opendev.org.evil.example/c/1",
        "https://gerrit.opnfv.org/other/c/1",
        "https://review.opendev.org:8443/c/1",
        "http://review.opendev.org:443/c/1",
        "https://review.opendev.org:port/c/1",
        "https://someone@review.opendev.org/c/1",
        "not a url",
    ],
)
def test_a_url_of_no_configured_gerrit_names_the_configured_ones(url: str) -> None:
    with pytest.raises(DependsOnError) as raised:
        parse_change_url(url, BASES)
    # By name only: the message is posted on a public change, the URLs are the operator's.
    assert str(raised.value) == (
        f"`{url}` is not on a Gerrit this CI is connected to (connections: upstream, integrating)"
    )


def test_the_configured_gerrits_urls_are_not_listed() -> None:
    bases = {"public": "https://review.example.org", "lab": "http://10.1.2.3:8080/gerrit"}
    with pytest.raises(DependsOnError) as raised:
        parse_change_url("https://github.com/a/b/pull/1", bases)
    message = str(raised.value)
    assert "connections: public, lab" in message
    assert "review.example.org" not in message
    assert "10.1.2.3" not in message


def test_no_gerrit_configured_at_all() -> None:
    with pytest.raises(DependsOnError, match="no Gerrit is configured"):
        parse_change_url("https://review.opendev.org/c/1", {})


@pytest.mark.parametrize(
    "url",
    [
        "https://review.opendev.org/",
        "https://review.opendev.org/c/openstack/nova",
        "https://review.opendev.org/q/status:open",
        "https://review.opendev.org/c/openstack/nova/+/abc",
        "https://review.opendev.org/c/0",
        "https://review.opendev.org/#/q/123",
        "https://review.opendev.org/admin/repos/nova",
    ],
)
def test_a_url_that_is_not_a_change_says_the_expected_form(url: str) -> None:
    with pytest.raises(DependsOnError) as raised:
        parse_change_url(url, BASES)
    assert str(raised.value) == (
        f"`{url}` is not a change's URL: "
        "expected `https://review.opendev.org/c/<project>/+/<number>`"
    )


def test_a_change_id_asks_for_the_url() -> None:
    value = "I0123456789abcdef0123456789abcdef01234567"
    with pytest.raises(DependsOnError) as raised:
        parse_change_url(value, BASES)
    message = str(raised.value)
    assert message.startswith(f"`{value}` is a Change-Id")
    assert "write the change's URL instead" in message
    assert "(`https://review.opendev.org/c/<project>/+/<number>`)" in message


def test_the_canonical_url() -> None:
    assert change_url("https://host/gerrit/", "a/b", 7) == "https://host/gerrit/c/a/b/+/7"


@pytest.mark.parametrize(
    ("url", "project"),
    [
        ("https://review.opendev.org/c/openstack/nova/+/12345", "openstack/nova"),
        ("https://review.opendev.org/c/openstack/nova/+/12345/3/nova/api.py", "openstack/nova"),
        ("https://review.opendev.org/#/c/openstack/nova/+/12345/2", "openstack/nova"),
        ("https://review.opendev.org/c/123/+/12345", "123"),
        ("https://review.opendev.org/c/openstack%2Fnova/+/12345", "openstack/nova"),
        ("https://review.opendev.org/c/my%20project/+/12345", "my project"),
        ("https://review.opendev.org/c/12345", None),
        ("https://review.opendev.org/#/c/12345/", None),
        ("https://review.opendev.org/12345", None),
    ],
)
def test_the_project_a_url_names_is_kept(url: str, project: str | None) -> None:
    found = parse_change_url(url, BASES)
    assert (found.connection, found.number, found.project) == ("upstream", 12345, project)


def test_the_project_named_does_not_make_another_change() -> None:
    # Which change it is: the same, whatever the URL says of its project.
    named = parse_change_url("https://review.opendev.org/c/openstack/nova/+/5", BASES)
    bare = parse_change_url("https://review.opendev.org/c/5", BASES)
    assert named == bare
    assert hash(named) == hash(bare)
    assert named == ChangeRef("upstream", 5)


@pytest.mark.parametrize(
    "value",
    [
        "<https://review.opendev.org/c/openstack/nova/+/366>",
        "https://review.opendev.org/c/openstack/nova/+/366.",
        "https://review.opendev.org/c/openstack/nova/+/366,",
        "https://review.opendev.org/c/openstack/nova/+/366;",
        "https://review.opendev.org/c/openstack/nova/+/366:",
        "https://review.opendev.org/c/openstack/nova/+/366)",
        "https://review.opendev.org/c/openstack/nova/+/366).",
        "https://review.opendev.org/c/openstack/nova/+/366!",
        "https://review.opendev.org/c/openstack/nova/+/366?",
        "(https://review.opendev.org/c/openstack/nova/+/366)",
        "(https://review.opendev.org/c/openstack/nova/+/366).",
        "(<https://review.opendev.org/c/openstack/nova/+/366>).",
        "<https://review.opendev.org/c/openstack/nova/+/366>.",
        '"https://review.opendev.org/c/openstack/nova/+/366"',
        "'https://review.opendev.org/c/openstack/nova/+/366',",
        "< https://review.opendev.org/c/openstack/nova/+/366 >",
    ],
)
def test_a_url_wrapped_as_prose_wraps_it_is_read(value: str) -> None:
    found = parse_change_url(value, BASES)
    assert (found, found.project) == (ChangeRef("upstream", 366), "openstack/nova")


@pytest.mark.parametrize(
    "value",
    [
        "<http://review.opendev.org/c/366>",
        "http://review.opendev.org/c/366).",
        "<review.opendev.org/366>",
    ],
)
def test_prose_wrapping_without_a_project(value: str) -> None:
    assert parse_change_url(value, BASES) == ChangeRef("upstream", 366)


def test_a_wrapped_change_id_still_asks_for_the_url() -> None:
    with pytest.raises(DependsOnError, match="is a Change-Id"):
        parse_change_url("<I0123456789abcdef0123456789abcdef01234567>.", BASES)


@pytest.mark.parametrize("value", ["<>", "().", "<()>"])
def test_nothing_but_wrapping_is_no_gerrits(value: str) -> None:
    with pytest.raises(DependsOnError, match="is not on a Gerrit this CI is connected to"):
        parse_change_url(value, BASES)


def test_a_value_too_long_to_be_a_url() -> None:
    value = "https://review.opendev.org/c/" + "a/" * MAX_URL_LENGTH + "+/1"
    with pytest.raises(DependsOnError) as raised:
        parse_change_url(value, BASES)
    message = str(raised.value)
    assert message.startswith(f"{shown(value)} is too long to be a change's URL (")
    assert f"at most {MAX_URL_LENGTH}" in message
    assert len(message) < 200


def test_a_value_at_the_cap_is_still_read() -> None:
    head, tail = "https://review.opendev.org/c/", "/+/1"
    value = head + "p" * (MAX_URL_LENGTH - len(head) - len(tail)) + tail
    assert len(value) == MAX_URL_LENGTH
    assert parse_change_url(value, BASES) == ChangeRef("upstream", 1)


MARKUP = "[click](https://evil.example/x) <script>alert(1)</script> <img src=x onerror=alert(1)>"


def test_a_value_is_shown_inert_in_a_code_span() -> None:
    assert shown("https://review.opendev.org/c/1") == "`https://review.opendev.org/c/1`"
    assert shown("a `b` c") == "`a 'b' c`"
    assert shown("a\nb\r\tc\x00d\x1b[31me\x85f\u202eg\u200bh") == "`abcd[31mefgh`"
    assert shown("\n\x00") == "(an empty value)"


def test_a_long_value_is_cut_with_an_ellipsis() -> None:
    assert shown("x" * 80) == f"`{'x' * 80}`"
    assert shown("x" * 81) == f"`{'x' * 79}\u2026`"
    assert shown("x" * 5000) == f"`{'x' * 79}\u2026`"


def _inert(message: str) -> None:
    """One code span per shown value, no markup outside code spans, no control chars."""
    assert message.count("`") % 2 == 0
    outside = message.split("`")[::2]
    for text in outside:
        for markup in ("<", ">", "[", "](", "evil.example", "script", "onerror"):
            assert markup not in text, (markup, message)
    assert not any(ord(c) < 0x20 for c in message)


@pytest.mark.parametrize(
    "value",
    [
        MARKUP,
        f"https://review.opendev.org/{MARKUP}",
        f"https://review.opendev.org/c/{MARKUP}",
        f"`{MARKUP}`",
        f"x``` {MARKUP} ```",
        f"I0123456789abcdef0123456789abcdef01234567 {MARKUP}",
        f"https://review.opendev.org/c/{'a' * MAX_URL_LENGTH}{MARKUP}",
        f"https://review.opendev.org/c/\u202e{MARKUP}\x1b[2J",
    ],
)
def test_an_authors_markup_is_never_echoed_raw(value: str) -> None:
    with pytest.raises(DependsOnError) as raised:
        parse_change_url(value, BASES)
    message = str(raised.value)
    _inert(message)
    assert MARKUP not in message
    spans = message.split("`")[1::2]
    assert all(len(span) <= 80 for span in spans)
