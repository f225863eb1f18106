"""What a dead crosscheck left running on this host: its builds' process groups.

A build's steps run in a session of their own, so they outlive a crosscheck that
was killed (SIGKILL, the OOM killer, a crash). The next start runs those builds
again; before it does, it finds what the old attempts left by the
CROSSCHECK_BUILD_ID every step's environment carries, and stops it: two runs of
one job on one node (a bare-metal lab above all) would fight over it.

Groups are found again by that marker at each look, never remembered by number:
a group that ended may have its number reused by a stranger, and a process that
made a session of its own (`setsid`) is found in its new group. A process that
cleared its environment (`env -i`) cannot be found.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Collection

from crosscheck.executor.processes import KILL_WAIT_SECONDS, signal_group

log = logging.getLogger(__name__)

BUILD_ID_VARIABLE = b"CROSSCHECK_BUILD_ID="
#: Seconds between looks at /proc while leftovers are stopping.
LOOK_SECONDS = 0.2


def leftover_groups(build_ids: Collection[str]) -> dict[int, str]:
    """Process group -> build id, for the live processes whose environment names one
    of the builds and that this user may read (a zombie has no environment left)."""
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
        # Group 0: a leader outside this pid namespace; killpg(0) would hit our own group.
        if marker is not None and group not in (0, own_group):
            found[group] = marker[len(BUILD_ID_VARIABLE) :].decode()
    return found


async def stop_leftovers(build_ids: Collection[str], grace: float) -> dict[int, str]:
    """SIGTERM what the builds left running, SIGKILL what is left after `grace`
    seconds, and wait for it to be gone; the process groups found first."""
    if not build_ids:
        return {}
    found = await asyncio.to_thread(leftover_groups, build_ids)
    remaining = await _signal_until_gone(build_ids, found, signal.SIGTERM, grace)
    remaining = await _signal_until_gone(build_ids, remaining, signal.SIGKILL, KILL_WAIT_SECONDS)
    for group, build_id in sorted(remaining.items()):
        log.error("process group %d of interrupted build %s outlived SIGKILL", group, build_id)
    return found


async def _signal_until_gone(
    build_ids: Collection[str], groups: dict[int, str], signum: int, wait: float
) -> dict[int, str]:
    """Signal the groups, and any group the builds' processes appear in meanwhile, until
    none is left or `wait` seconds passed; what is left."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    signalled: set[int] = set()
    while groups:
        for group in groups.keys() - signalled:
            signal_group(group, signum)
            signalled.add(group)
        if loop.time() >= deadline:
            break
        await asyncio.sleep(LOOK_SECONDS)
        groups = await asyncio.to_thread(leftover_groups, build_ids)
    return groups
