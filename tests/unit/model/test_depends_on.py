"""`Depends-On:` footers: read from a commit message, each URL matched to its Gerrit."""

from __future__ import annotations

import pytest

from crosscheck.model.depends_on import (
    ChangeRef,
    DependsOnError,
    change_url,
    depends_on_urls,
    parse_change_url,
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
    message = str(raised.value)
    assert url in message
    assert "upstream at https://review.opendev.org" in message
    assert "integrating at https://gerrit.opnfv.org/gerrit/" in message


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
        f"{url} is not a change's URL: expected https://review.opendev.org/c/<project>/+/<number>"
    )


def test_a_change_id_asks_for_the_url() -> None:
    value = "I0123456789abcdef0123456789abcdef01234567"
    with pytest.raises(DependsOnError) as raised:
        parse_change_url(value, BASES)
    message = str(raised.value)
    assert message.startswith(f"{value} is a Change-Id")
    assert "write the change's URL instead" in message
    assert "https://review.opendev.org/c/<project>/+/<number>" in message


def test_the_canonical_url() -> None:
    assert change_url("https://host/gerrit/", "a/b", 7) == "https://host/gerrit/c/a/b/+/7"
