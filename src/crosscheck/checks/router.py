"""The plugin at a stable address, configured for the service that serves it, so a Gerrit
site installs it with one download into its `plugins/` directory.

It never holds the read token: this address answers anyone. A plugin for a service whose
reads are private is written by `crosscheck checks plugin --read-token-env`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from crosscheck.checks.plugin import PLUGIN_FILE, PluginConfig, plugin_source


def plugin_router(public_url: str | None = None) -> APIRouter:
    """`public_url`: the service's address as browsers reach it (serve's --public-url);
    None: the address the request came to, as a proxy passes it on."""
    router = APIRouter(tags=["Gerrit Checks tab"])

    @router.get(
        f"/plugins/{PLUGIN_FILE}",
        summary="The Gerrit Checks tab plugin, configured for this service: copy it into a "
        "Gerrit site's plugins/ directory",
        response_class=Response,
    )
    async def plugin(request: Request) -> Response:
        config = PluginConfig(results_url=public_url or str(request.base_url))
        return Response(
            plugin_source(config),
            media_type="text/javascript",
            headers={"Cache-Control": "no-cache"},
        )

    return router
