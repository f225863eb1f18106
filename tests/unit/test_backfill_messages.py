"""The job lines of CI review messages, including odd ones."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crosscheck.model.results import ResultValue
from crosscheck.results.backfill_messages import JobLine, parse_ci_message

ZUUL = """Patch Set 3: Verified-1

Build failed (check pipeline).  For information on how to proceed, see
https://docs.example.org/infra/manual/developers.html#automated-testing

- openstack-tox-pep8 https://logs.example.org/39/1239/3/check/pep8/abc : SUCCESS in 3m 02s
- tempest-full-py3 https://logs.example.org/39/1239/3/check/tempest/def : FAILURE in 1h 02m 03s
- grenade https://logs.example.org/g : SUCCESS in 45m 10s (non-voting)
- nova-live-migration https://logs.example.org/l : RETRY_LIMIT in 5s (non-voting)
- ironic-ipa-build : NOT_REGISTERED
- neutron-fullstack https://logs.example.org/f : TIMED_OUT in 2h 00m 00s
- devstack-arm64 https://logs.example.org/a : SKIPPED
"""


def test_a_zuul_report_gives_every_job() -> None:
    message = parse_ci_message(ZUUL)
    assert message.pipeline == "check"
    assert message.unreadable == []
    assert message.jobs == [
        JobLine(
            "openstack-tox-pep8",
            ResultValue.PASSED,
            "https://logs.example.org/39/1239/3/check/pep8/abc",
            182.0,
        ),
        JobLine(
            "tempest-full-py3",
            ResultValue.FAILED,
            "https://logs.example.org/39/1239/3/check/tempest/def",
            3723.0,
        ),
        JobLine("grenade", ResultValue.PASSED, "https://logs.example.org/g", 2710.0, voting=False),
        JobLine(
            "nova-live-migration",
            ResultValue.FAILED,
            "https://logs.example.org/l",
            5.0,
            voting=False,
        ),
        JobLine("ironic-ipa-build", ResultValue.NOT_REGISTERED),
        JobLine("neutron-fullstack", ResultValue.FAILED, "https://logs.example.org/f", 7200.0),
        JobLine("devstack-arm64", ResultValue.SKIPPED, "https://logs.example.org/a"),
    ]


def test_jenkins_gerrit_trigger_lines_name_the_job_by_url() -> None:
    message = parse_ci_message(
        "Build Successful\n\n"
        "https://jenkins.example/job/acme-driver-tempest/123/ : SUCCESS\n"
        "- https://jenkins.example/job/acme-unit/7/console : FAILURE in 12 min\n"
    )
    tempest, unit = message.jobs
    assert tempest == JobLine(
        "acme-driver-tempest",
        ResultValue.PASSED,
        "https://jenkins.example/job/acme-driver-tempest/123/",
    )
    assert unit == JobLine(
        "acme-unit", ResultValue.FAILED, "https://jenkins.example/job/acme-unit/7/console", 720.0
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("* job-a http://x/1 : success in 10s", ("job-a", ResultValue.PASSED, 10.0, True)),
        ("  - job-b   http://x/2   :   Failure   in 1m", ("job-b", ResultValue.FAILED, 60.0, True)),
        ("- job-c http://x/3 : UNSTABLE in soon", ("job-c", ResultValue.UNSTABLE, None, True)),
        ("- job-d http://x/4 : ABORTED (NON-VOTING)", ("job-d", ResultValue.SKIPPED, None, False)),
        (
            "- job-e http://x/5 : POST_FAILURE in 3m 02s (non-voting) \r",
            ("job-e", ResultValue.FAILED, 182.0, False),
        ),
    ],
)  # fmt: skip
def test_odd_spacing_case_and_durations(
    line: str, expected: tuple[str, ResultValue, float | None, bool]
) -> None:
    (job,) = parse_ci_message(line).jobs
    assert (job.job, job.value, job.duration, job.voting) == expected


def test_a_non_web_url_is_dropped_but_the_job_kept() -> None:
    (job,) = parse_ci_message("- job-x javascript:alert(1) : SUCCESS in 1s").jobs
    assert job.job == "job-x"
    assert job.url is None


def test_unknown_results_are_kept_as_unreadable_never_guessed() -> None:
    message = parse_ci_message("- job-a http://x/1 : WOBBLY in 3s\n- job-b http://x/2 : SUCCESS")
    assert [j.job for j in message.jobs] == ["job-b"]
    ((line, why),) = message.unreadable
    assert line == "- job-a http://x/1 : WOBBLY in 3s"
    assert "unknown result WOBBLY" in why


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Patch Set 1: Code-Review+2\n\nLooks good: SUCCESS guaranteed",
        "recheck",
        "> - job-a http://x/1 : SUCCESS in 3s",  # a human quoting a CI
        "- a list item without a result",
        "- time: 10 : 30",
    ],
)
def test_other_text_has_no_jobs(text: str) -> None:
    message = parse_ci_message(text)
    assert message.jobs == []


def test_an_overlong_job_name_is_unreadable() -> None:
    message = parse_ci_message(f"- {'j' * 201} http://x/1 : SUCCESS")
    assert message.jobs == []
    assert "too long" in message.unreadable[0][1]


@given(st.text(max_size=400))
def test_any_text_parses_without_error(text: str) -> None:
    message = parse_ci_message(text)
    for job in message.jobs:
        assert job.job
        assert job.url is None or job.url.startswith(("http://", "https://", "HTTP"))
        assert job.duration is None or job.duration >= 0


def test_a_reason_after_the_line_is_read_apart_and_old_lines_still_parse() -> None:
    message = parse_ci_message(
        "Build failed (check pipeline).\n\n"
        "- unit http://ci/1 : FAILURE in 1m 02s (non-voting) — step 2 'make test' exited 2\n"
        "- lab http://ci/2 : ERROR in 0s — git fetch of refs/changes/01/1/1 from "
        "http://g/a/p: connection refused\n"
        "- docs http://ci/3 : MERGE_CONFLICT in 0s — conflict in a (x).txt\n"
        "- old http://ci/4 : SUCCESS in 5s\n"
    )
    assert message.unreadable == []
    unit, lab, docs, old = message.jobs
    assert unit == JobLine(
        "unit",
        ResultValue.FAILED,
        "http://ci/1",
        62.0,
        voting=False,
        detail="step 2 'make test' exited 2",
    )
    assert (lab.value, lab.duration, lab.voting) == (ResultValue.FAILED, 0.0, True)
    assert lab.detail == "git fetch of refs/changes/01/1/1 from http://g/a/p: connection refused"
    # Parentheses in the reason are not taken for the duration's end or a flag.
    assert (docs.duration, docs.voting, docs.detail) == (0.0, True, "conflict in a (x).txt")
    assert old == JobLine("old", ResultValue.PASSED, "http://ci/4", 5.0)
