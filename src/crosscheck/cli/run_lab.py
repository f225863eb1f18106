"""`crosscheck run` on a lab: only on a node or POD an operator holds.

serve gives a free node to its builds and locks it in its store; a build by hand that
took one too would share exclusive hardware with serve's, or use a node held for
debugging. So a job whose label a node or POD provides runs by hand only where it is
named (`--node`) and held, which keeps serve's builds away from it meanwhile.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import click

from crosscheck.config.issues import did_you_mean
from crosscheck.model.config import Config
from crosscheck.model.job import Job
from crosscheck.model.node import Lab
from crosscheck.store import nodes as node_store
from crosscheck.store import open_store


def lab_for_run(config: Config, job: Job, node: str | None, database: str | None) -> Config:
    """`config` with the lab cut down to the one node or POD the build may use."""
    label = job.node or ""
    remote = [p.removeprefix("pod:") for p in config.lab.providers(label) if p != "local"]
    if not remote:
        if node is not None:
            raise click.BadParameter(
                f"job '{job.name}' runs on this machine (label '{label}')", param_hint="--node"
            )
        return config
    if node is None:
        raise click.UsageError(
            f"job '{job.name}' runs on label '{label}', which {', '.join(remote)} provide: "
            "hold one for the build (`crosscheck nodes hold NODE --reason ...`) so serve "
            "gives it no build meanwhile, then name it with --node NODE"
        )
    if node not in remote:
        hint = did_you_mean(node, remote) or f"it is provided by {', '.join(remote)}"
        message = f"'{node}' does not provide label '{label}'; {hint}"
        raise click.BadParameter(message, param_hint="--node")
    members = config.lab.pods[node].nodes if node in config.lab.pods else (node,)
    free = asyncio.run(_not_held(members, database))
    if free:
        raise click.UsageError(
            f"{', '.join(free)} not held: serve may give it a build meanwhile. Hold it "
            f"first: crosscheck nodes hold {free[0]} --reason 'trying {job.name}'"
        )
    pods = {node: config.lab.pods[node]} if node in config.lab.pods else {}
    lab = Lab(nodes={n: config.lab.nodes[n] for n in members}, pods=pods)
    return replace(config, lab=lab)


async def _not_held(members: tuple[str, ...], database: str | None) -> list[str]:
    engine = await open_store(database)
    try:
        async with engine.connect() as db:
            states = await node_store.states(db)
    finally:
        await engine.dispose()
    return [name for name in members if name not in states or states[name].held_by is None]
