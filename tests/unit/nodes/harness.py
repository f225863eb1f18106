"""A node pool over SSH nodes nobody connects to (no health loop runs), on a SQLite
store, and the nodes API and page on it through httpx's ASGI transport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import FastAPI

from crosscheck.executor.local import LocalNodeProvider
from crosscheck.executor.pool import NodePool
from crosscheck.http.errors import install_error_handlers
from crosscheck.model.config import Config
from crosscheck.model.job import Job
from crosscheck.model.node import Lab, Pod, SshNode
from crosscheck.nodes.api import nodes_router
from crosscheck.nodes.page import nodes_page
from crosscheck.store import open_store

ADMIN_TOKEN = "nodes-admin-token-for-tests"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
CONFIG = Config(
    jobs={
        "acme-nfs": Job("acme-nfs", run=()),
        "acme-iscsi": Job("acme-iscsi"),
        "acme-base": Job("acme-base", abstract=True),
    }
)


def lab(*names: str) -> Lab:
    nodes = {name: SshNode(name, "192.0.2.1", "ci", labels=("big",)) for name in names}
    pods = {"pod-a": Pod("pod-a", ("pod",), {"jump": (names[0],)})} if names else {}
    return Lab(nodes=nodes, pods=pods)


@dataclass
class Api:
    pool: NodePool
    http: httpx.AsyncClient


@asynccontextmanager
async def nodes_api(
    tmp_path: Path, names: tuple[str, ...] = ("lab-1", "lab-2"), token: str | None = ADMIN_TOKEN
) -> AsyncIterator[Api]:
    engine = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'nodes.db'}")
    pool = NodePool(lab(*names), LocalNodeProvider(tmp_path / "work", 2, 1.0), engine)
    app = FastAPI()
    app.include_router(nodes_router(pool, lambda: token, lambda: CONFIG))
    app.include_router(nodes_page(pool))
    install_error_handlers(app)
    transport = httpx.ASGITransport(app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://nodes") as http:
            yield Api(pool, http)
    finally:
        await engine.dispose()
