"""Events POSTed by Gerrit's webhooks plugin, as an HTTP route.

Configure the plugin with `url = https://crosscheck.example.org/webhooks/gerrit/<connection>/<token>`:
the plugin cannot sign requests or add headers, so a per-connection secret in the
path authenticates it. Events go into the same intake as the stream's, so an
event that arrives both ways is processed once.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status

from crosscheck.drivers.gerrit.events import parse_event
from crosscheck.drivers.gerrit.source import GerritEventSource
from crosscheck.model.events import Origin


def webhook_router(
    sources: Mapping[str, GerritEventSource], tokens: Mapping[str, str]
) -> APIRouter:
    router = APIRouter()

    @router.post("/webhooks/gerrit/{connection}/{token}", status_code=status.HTTP_202_ACCEPTED)
    async def receive(connection: str, token: str, request: Request) -> dict[str, Any]:
        source = sources.get(connection)
        expected = tokens.get(connection)
        if source is None or expected is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"no connection {connection!r} takes webhooks"
            )
        if not hmac.compare_digest(token.encode(), expected.encode()):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "wrong webhook token for this connection"
            )
        try:
            event = parse_event(json.loads(await request.body()), connection, Origin.WEBHOOK)
        except ValueError as error:  # EventParseError is one
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST, f"not a Gerrit event: {error}"
            ) from error
        try:
            new = await source.submit(event)
        except Exception as error:
            # Not a 2xx: the webhooks plugin retries, and the event is not lost.
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "the event could not be processed now; send it again",
            ) from error
        return {"accepted": True, "duplicate": not new}

    return router
