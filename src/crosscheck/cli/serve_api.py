"""Talking to a running `crosscheck serve` over its HTTP API, for the operator commands.

Every failure becomes one `ServeApiError` whose message says what to do: start
the server or fix --url, use the right token, or what the server refused and why.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click
import httpx

from crosscheck.cli.options import F
from crosscheck.config.secrets import read_secret
from crosscheck.errors import CrosscheckError
from crosscheck.http.error_message import error_message

DEFAULT_URL = "http://127.0.0.1:8080"
TOKEN_ENV = "CROSSCHECK_ADMIN_TOKEN"  # noqa: S105 - the variable's name, not a token
#: Enqueue looks the change up in Gerrit, which may retry for a while before giving up.
DEFAULT_TIMEOUT = 60.0


class ServeApiError(CrosscheckError):
    """crosscheck serve could not be reached, or refused the request."""


def url_option(command: F) -> F:
    return click.option(
        "--url",
        envvar="CROSSCHECK_URL",
        show_envvar=True,
        default=DEFAULT_URL,
        show_default=True,
        help="Where crosscheck serve listens.",
    )(command)


def token_options(command: F) -> F:
    command = click.option(
        "--token-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="A file holding the admin token.",
    )(command)
    return click.option(
        "--token-env",
        metavar="VAR",
        help=f"An environment variable holding the admin token [default: {TOKEN_ENV}].",
    )(command)


def admin_token(token_file: Path | None, token_env: str | None) -> str:
    """The admin token from --token-file, --token-env VAR, or $CROSSCHECK_ADMIN_TOKEN."""
    if token_file is not None and token_env is not None:
        raise click.UsageError("give --token-file or --token-env, not both")
    if token_file is not None:
        token = read_secret("the admin token (--token-file)", None, token_file)
    elif token_env is not None:
        token = read_secret("the admin token (--token-env)", token_env, None)
    else:
        token = os.environ.get(TOKEN_ENV) or None
    if token is None:
        raise click.UsageError(
            "this command needs the admin token (the one the '- ci:' element names): give "
            f"--token-file FILE or --token-env VAR, or set {TOKEN_ENV}"
        )
    return token


class ServeApi:
    """The operator routes of one crosscheck serve."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> ServeApi:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def status(self) -> Any:
        return self._call("GET", "/api/v1/status")

    def enqueue(self, body: dict[str, Any]) -> Any:
        return self._call("POST", "/api/v1/enqueue", body)

    def dequeue(self, body: dict[str, Any]) -> Any:
        return self._call("POST", "/api/v1/dequeue", body)

    def nodes(self) -> Any:
        return self._call("GET", "/api/v1/nodes")

    def node_action(self, node: str, action: str, body: dict[str, Any]) -> Any:
        """`action`: hold, release, drain or undrain."""
        return self._call("POST", f"/api/v1/nodes/{quote(node, safe='')}/{action}", body)

    def autoholds(self) -> Any:
        return self._call("GET", "/api/v1/autoholds")

    def add_autohold(self, body: dict[str, Any]) -> Any:
        return self._call("POST", "/api/v1/autoholds", body)

    def delete_autohold(self, autohold_id: int) -> Any:
        return self._call("DELETE", f"/api/v1/autoholds/{autohold_id}")

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        with reaching(self.url):
            answer = self._http.request(method, path, json=body)
        if answer.is_success:
            return _json(answer, self.url)
        raise ServeApiError(_refusal(answer, self.url, path))


@contextmanager
def reaching(url: str) -> Iterator[None]:
    """A request to serve at `url`: a timeout or no answer becomes one ServeApiError
    that says what to check."""
    try:
        yield
    except httpx.TimeoutException as error:
        raise ServeApiError(
            f"crosscheck serve at {url} did not answer in time ({type(error).__name__})"
        ) from error
    except httpx.TransportError as error:
        raise ServeApiError(
            f"cannot reach crosscheck serve at {url} ({error}): is it running? "
            "Give its address with --url or CROSSCHECK_URL"
        ) from error


def _json(answer: httpx.Response, url: str) -> Any:
    try:
        return answer.json()
    except ValueError as error:
        raise ServeApiError(
            f"{url} answered {answer.status_code} without JSON: is it crosscheck serve?"
        ) from error


def _refusal(answer: httpx.Response, url: str, path: str) -> str:
    detail = error_message(answer)
    code = answer.status_code
    if code == httpx.codes.NOT_FOUND and detail == "Not Found":
        return f"{url} has no {path}: is it crosscheck serve, a version with operator commands?"
    if code == httpx.codes.UNAUTHORIZED:
        return (
            f"crosscheck serve refused the token: {detail}. Use the admin token the '- ci:' "
            "element names (admin_token_file or admin_token_env)"
        )
    return f"crosscheck serve refused the request ({code}): {detail}"
