"""How a results service runs: who may read, who administers, how fast a CI may write."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from crosscheck.config.secrets import SecretError, TokenSource, read_token
from crosscheck.model.config import DEFAULT_RESULTS_BURST, DEFAULT_RESULTS_RATE, ResultsConfig
from crosscheck.model.results import DEFAULT_MAX_RESULT_AGE


def no_token() -> None:
    return None


@dataclass(frozen=True)
class ResultsSettings:
    #: False: reading needs a token: a CI account's, the admin's or the read token.
    public_reads: bool = True
    #: Reads the admin token (a secret: an environment variable or a file) at each request,
    #: so a rotated token or a reloaded configuration takes effect without a restart.
    admin_token: TokenSource = no_token
    #: A token that reads and does nothing else: the one a Gerrit Checks tab plugin sends
    #: when reads are private (it is visible to whoever loads Gerrit's UI). Read at each
    #: request, as the admin token.
    read_token: TokenSource = no_token
    #: Writes per second per CI account, on average, and the burst allowed.
    rate: float = DEFAULT_RESULTS_RATE
    burst: int = DEFAULT_RESULTS_BURST
    #: Results reported as older than this are refused.
    max_result_age: timedelta = DEFAULT_MAX_RESULT_AGE


def settings_from_config(config: ResultsConfig, admin_token: TokenSource) -> ResultsSettings:
    """The settings of the service `crosscheck serve` embeds (its pages' are read by serve)."""
    return ResultsSettings(
        public_reads=config.public_reads,
        admin_token=admin_token,
        read_token=partial(read_token, config),
        rate=config.rate,
        burst=config.burst,
        max_result_age=timedelta(seconds=config.max_result_age),
    )


def check_tokens(settings: ResultsSettings) -> None:
    """At start: the tokens named can be read, and the read token is no other token (it is
    handed to every Gerrit user, so it must not be the admin's)."""
    reader = settings.read_token()
    if reader is None:
        return
    try:
        admin = settings.admin_token()
    except SecretError:  # the admin token's own problem, said where it is used
        return
    if reader == admin:
        raise SecretError(
            "the read token is the admin token: the read token is written into a plugin file "
            "every Gerrit user can download, so give it a value of its own"
        )
