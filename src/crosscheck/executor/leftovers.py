"""What a dead crosscheck left running on this host: its builds' process groups.

A build's steps run in a session of their own, so they outlive a crosscheck that
was killed (SIGKILL, the OOM killer, a crash). The next start runs those builds
again; before it does, it finds what the old attempts left by the
CROSSCHECK_BUILD_ID every step's environment carries, and stops it: two runs of
one job on one node (a bare-metal lab above all) would fight over it.

A process that cleared its environment (`env -i`) cannot be found this way.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Collection

from crosscheck.executor.processes import POLL_SECONDS, group_alive, signal_group

BUILD_ID_VARIABLE = b"CROSSCHECK_BUILD_ID="


def leftover_groups(build_ids: Collection[str]) -> dict[int, str]:
    """Process group -> build id, for this user's processes whose environment names
    one of the builds (other users' environments cannot be read, and are not ours)."""
    wanted = {BUILD_ID_VARIABLE + build_id.encode() for build_id in build_ids}
    own_group = os.getpgrp()
    found: dict[int, str] = {}
    with os.scandir("/proc") as entries:
        pids = [int(entry.name) for entry in entries if entry.name.isdigit()]
    for pid in pids:
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                environ = handle.read().split(b"\0")
            group = os.getpgid(pid)
        except OSError:
            continue  # gone meanwhile, or not ours to read
        marker = next((variable for variable in environ if variable in wanted), None)
        if marker is not None and group != own_group:
            found[group] = marker[len(BUILD_ID_VARIABLE) :].decode()
    return found


async def stop_leftovers(build_ids: Collection[str], grace: float) -> dict[int, str]:
    """SIGTERM what the builds left running, SIGKILL what is left after `grace`
    seconds; the process groups found, with their build ids."""
    if not build_ids:
        return {}
    groups = await asyncio.to_thread(leftover_groups, build_ids)
    for group in groups:
        signal_group(group, signal.SIGTERM)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while loop.time() < deadline and any(map(group_alive, groups)):  # noqa: ASYNC110
        await asyncio.sleep(POLL_SECONDS)
    for group in groups:
        if group_alive(group):
            signal_group(group, signal.SIGKILL)
    return groups
