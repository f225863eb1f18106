"""The few words a report gives for a failed step or a failed git request."""

from __future__ import annotations

import pytest

from crosscheck.executor.git import secret_free, server_away, short_reason, subcommand
from crosscheck.executor.steps import MAX_COMMAND, step_name


def test_a_step_is_named_by_its_number_and_its_command_on_one_short_line() -> None:
    assert step_name(2, "make test") == "step 2 'make test'"
    assert step_name(1, "set -x\n  ./run   --all") == "step 1 'set -x ./run --all'"
    long = step_name(3, "x" * 500)
    assert long == f"step 3 '{'x' * (MAX_COMMAND - 3)}...'"


@pytest.mark.parametrize(
    ("stderr", "reason"),
    [
        (
            "fatal: unable to access 'http://127.0.0.1:8080/a/p/': Failed to connect to "
            "127.0.0.1 port 8080 after 0 ms: Couldn't connect to server\n",
            "connection refused",
        ),
        ("fatal: unable to access 'http://x/': Could not resolve host: x\n", "host not found"),
        (
            "fatal: unable to access 'http://x/p/': Operation too slow. Less than 1 "
            "bytes/sec transferred the last 60 seconds\n",
            "the server stalled (nothing for 60 s)",
        ),
        (
            "fatal: unable to access 'http://x/': The requested URL returned error: 503\n",
            "HTTP 503",
        ),
        (  # Gerrit's answer for a project that does not exist, as for one hidden
            "fatal: unable to access 'http://x/no/such/': The requested URL returned error: 403\n",
            "HTTP 403: no such project, or the CI account may not read it",
        ),
        (
            "fatal: unable to access 'http://x/': The requested URL returned error: 429\n",
            "HTTP 429",
        ),
        ("fatal: Authentication failed for 'http://x/a/p/'\n", "authentication failed"),
        ("fatal: repository 'http://x/p/' not found\n", "repository not found"),
        ("hint: try this\nerror: one\nerror: two\n", "error: one; error: two"),
        (  # git's advice after its verdict would crowd the cause out
            "error: Unable to create '/m/packed-refs.lock': File exists.\n\n"
            "Another git process seems to be running in this repository, e.g.\n"
            "an editor opened by 'git commit'. Please make sure all processes\n"
            "are terminated then try again. If it still fails, a git process\n"
            "may have crashed in this repository earlier:\n"
            "remove the file manually to continue.\n",
            "error: Unable to create '/m/packed-refs.lock': File exists.",
        ),
        ("warning: a\nsomething odd\n", "warning: a; something odd"),
        ("", "no reason given"),
    ],
)
def test_git_failures_are_said_in_a_few_words(stderr: str, reason: str) -> None:
    assert short_reason(stderr) == reason


@pytest.mark.parametrize(
    ("said", "away"),
    [
        ("Failed to connect to 127.0.0.1 port 8080: Couldn't connect to server", True),
        ("Could not resolve host: review.example.org", True),
        ("Operation too slow. Less than 1 bytes/sec transferred the last 60 seconds", True),
        ("The requested URL returned error: 503", True),
        ("The requested URL returned error: 502", True),
        ("The requested URL returned error: 501", False),
        ("The requested URL returned error: 404", False),
        ("Authentication failed for 'http://x/a/p/'", False),
        ("repository 'http://x/p/' not found", False),
        ("error: object file objects/ab/cd is empty", False),
    ],
)
def test_a_server_away_is_told_from_one_that_refused(said: str, away: bool) -> None:
    assert server_away(f"fatal: unable to access 'http://x/': {said}\n") is away


def test_a_failed_git_is_named_by_its_command_not_its_options() -> None:
    assert subcommand(["fetch", "--quiet"]) == "fetch"
    assert subcommand(["-c", "gc.autoDetach=false", "gc", "--auto"]) == "gc"
    assert subcommand(["-C", "/m", "--no-pager", "log"]) == "log"
    assert subcommand([]) == "git"


def test_urls_lose_their_user_and_password() -> None:
    assert secret_free("https://ci:s3cret@review.example.org:8443/a/p") == (
        "https://review.example.org:8443/a/p"
    )
    assert secret_free("http://127.0.0.1:8080/a/p") == "http://127.0.0.1:8080/a/p"
