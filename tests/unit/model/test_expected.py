from __future__ import annotations

import re

import pytest

from crosscheck.model.expected import ExpectedCIs, parse_expected_cis


def test_a_project_expects_every_matching_rule_in_order_once() -> None:
    expected = parse_expected_cis(
        {
            "openstack/nova": ["Acme CI", "Zuul"],
            "openstack/*": ["Zuul", "Other CI"],
            "^infra/": ["X"],
        }
    )
    assert expected.for_project("openstack/nova") == ("Acme CI", "Zuul", "Other CI")
    assert expected.for_project("openstack/neutron") == ("Zuul", "Other CI")
    assert expected.for_project("infra/tools") == ("X",)
    assert expected.for_project("elsewhere") == ()


def test_missing_keeps_the_written_order() -> None:
    expected = ExpectedCIs((("*", ("B CI", "A CI", "C CI")),))
    assert expected.missing("p", ["A CI", "Unexpected CI"]) == ("B CI", "C CI")


def test_nothing_configured_expects_nothing() -> None:
    assert parse_expected_cis(None).for_project("any") == ()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (["Acme CI"], "expected a mapping of project pattern"),
        ({"^(": ["Acme CI"]}, "expected-cis.^(: allowed-project regex '^(' is invalid"),
        ({"p": []}, "expected-cis.p: expected a list of CI account names"),
        ({"p": "Acme CI"}, "expected-cis.p: expected a list"),
        ({"p": ["ok", "bad/name"]}, "expected-cis.p[1]: CI account name 'bad/name'"),
        ({"p": [3]}, "expected-cis.p[0]: not text"),
        ({1: ["x"]}, "project pattern 1 must be text"),
    ],
)
def test_bad_rules_name_their_place(data: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_expected_cis(data)


def test_every_bad_rule_is_reported_at_once() -> None:
    with pytest.raises(ValueError, match="expected a list") as caught:
        parse_expected_cis({"a": [], "b": ["x/y"]})
    assert str(caught.value).count("\n") == 1
