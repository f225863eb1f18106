"""An async client for Gerrit's REST API.

Every call has a timeout and bounded retries with jittered exponential backoff.
Only calls that are safe to repeat are retried after Gerrit may have seen them:
a POST is retried only when the connection was never made, so a review is never
posted twice because of a retry.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from crosscheck.drivers.gerrit.errors import (
    GerritConflictError,
    GerritHttpError,
    GerritNotFoundError,
    GerritUnreachableError,
)
from crosscheck.errors import said

log = logging.getLogger(__name__)

#: Gerrit prefixes every JSON body with this line to defeat cross-site script inclusion.
XSSI_PREFIX = ")]}'"

_IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD"})
_RETRY_STATUSES = frozenset(
    {
        httpx.codes.TOO_MANY_REQUESTS,
        httpx.codes.BAD_GATEWAY,
        httpx.codes.SERVICE_UNAVAILABLE,
        httpx.codes.GATEWAY_TIMEOUT,
    }
)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a failed call."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, attempt: int) -> float:
        """Full-jitter backoff, so many clients retrying at once spread out."""
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return random.uniform(0, ceiling)  # noqa: S311 -- jitter, not cryptography


def parse_body(text: str) -> Any:
    """Decode a Gerrit response body: JSON after the XSSI prefix, else the plain text."""
    if text.startswith(XSSI_PREFIX):
        return json.loads(text[len(XSSI_PREFIX) :])
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        return json.loads(stripped)
    return text


def change_id(project: str, number: int) -> str:
    """The unambiguous `project~number` change id, with the project's slashes encoded."""
    return f"{quote(project, safe='')}~{number}"


def project_id(project: str) -> str:
    """A project name as it appears in a REST path."""
    return quote(project, safe="")


class GerritRestClient:
    """Talks to one Gerrit server, as one account (or anonymously)."""

    def __init__(
        self,
        base_url: str,
        username: str | None = None,
        password: str | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        auth = httpx.BasicAuth(username, password) if username and password else None
        self._authenticated = auth is not None
        self._retry = retry or RetryPolicy()
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            auth=auth,
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json"},
        )

    @property
    def _safe_base(self) -> str:
        """The base URL for messages: never with credentials in it."""
        return str(self._http.base_url.copy_with(username=None, password=None))

    @property
    def base_url(self) -> str:
        return str(self._http.base_url)

    async def __aenter__(self) -> GerritRestClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return await self.request("GET", path, params=params)

    async def put(self, path: str, body: Any = None) -> Any:
        return await self.request("PUT", path, json_body=body)

    async def post(self, path: str, body: Any = None) -> Any:
        return await self.request("POST", path, json_body=body)

    async def delete(self, path: str) -> Any:
        return await self.request("DELETE", path)

    async def post_text(self, path: str, text: str) -> Any:
        return await self.request("POST", path, text_body=text)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        text_body: str | None = None,
    ) -> Any:
        """Send one call, retrying as the policy allows, and return the decoded body."""
        url = self._url(path)
        content, headers = _encode(json_body, text_body)
        for attempt in range(self._retry.attempts):
            last_try = attempt == self._retry.attempts - 1
            try:
                response = await self._http.request(
                    method, url, params=params, content=content, headers=headers
                )
            except httpx.TransportError as error:
                if last_try or not _may_retry_transport(method, error):
                    raise GerritUnreachableError(
                        f"no answer from Gerrit at {self._safe_base} for {method} {url} "
                        f"after {attempt + 1} attempt(s): {said(error)}",
                        may_have_acted=not isinstance(
                            error, httpx.ConnectError | httpx.ConnectTimeout
                        ),
                    ) from error
                await self._backoff(method, url, attempt, type(error).__name__)
                continue
            if response.status_code in _RETRY_STATUSES and method in _IDEMPOTENT and not last_try:
                await self._backoff(method, url, attempt, f"HTTP {response.status_code}")
                continue
            return _decode(method, url, response)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _url(self, path: str) -> str:
        path = path if path.startswith("/") else f"/{path}"
        return f"/a{path}" if self._authenticated else path

    async def _backoff(self, method: str, url: str, attempt: int, reason: str) -> None:
        delay = self._retry.delay(attempt)
        # DEBUG: the caller says when the request fails for good (a report's first
        # failure and every tenth are warnings); an outage of hours must not flood INFO.
        log.debug(
            "gerrit %s %s failed (%s); retry %d in %.2fs", method, url, reason, attempt + 1, delay
        )
        await asyncio.sleep(delay)


def _may_retry_transport(method: str, error: httpx.TransportError) -> bool:
    if method in _IDEMPOTENT:
        return True
    # The request never left this machine, so Gerrit cannot have acted on it.
    return isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)


def _encode(json_body: Any, text_body: str | None) -> tuple[bytes | None, dict[str, str]]:
    if text_body is not None:
        return text_body.encode(), {"Content-Type": "text/plain; charset=UTF-8"}
    if json_body is not None:
        return json.dumps(json_body).encode(), {"Content-Type": "application/json; charset=UTF-8"}
    return None, {}


def _decode(method: str, url: str, response: httpx.Response) -> Any:
    status = response.status_code
    if status == httpx.codes.NOT_FOUND:
        raise GerritNotFoundError(method, url, status, response.text)
    if status == httpx.codes.CONFLICT:
        raise GerritConflictError(method, url, status, response.text)
    if status >= httpx.codes.BAD_REQUEST:
        raise GerritHttpError(method, url, status, response.text)
    if status == httpx.codes.NO_CONTENT or not response.content:
        return None
    return parse_body(response.text)
