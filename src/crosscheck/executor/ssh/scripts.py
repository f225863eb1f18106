"""The shell the node runs for crosscheck: POSIX sh, quoted here, nothing else installed.

Every value that reaches a script goes through `shlex.quote`; build ids are checked to
be plain words first, since they also go into a grep pattern.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Collection, Mapping
from pathlib import PurePosixPath

#: The first line a step's wrapper prints: its process group, never shown in the console.
PGID_MARK = "\x1ecrosscheck-pgid "
BUILD_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


def step(script: str, env: Mapping[str, str], cwd: PurePosixPath) -> str:
    """Run `script` with exactly `env` in `cwd`. sshd makes the command a session of its
    own, so the shell's pid is the group every step process starts in."""
    assignments = " ".join(shlex.quote(f"{key}={value}") for key, value in env.items())
    return (
        "exec 2>&1; "
        f"printf '{PGID_MARK}%s\\n' \"$$\"; "
        f"cd {shlex.quote(str(cwd))} || exit 1; "
        f"exec env -i {assignments} bash -e -c {shlex.quote(script)}"
    )


def stop_group(pgid: int, grace: float) -> str:
    """TERM the group, KILL what is left after `grace` seconds."""
    ticks = max(1, int(grace * 5))
    group = f"-{int(pgid)}"
    return (
        f"kill -TERM -- {group} 2>/dev/null || exit 0; i=0; "
        f"while kill -0 -- {group} 2>/dev/null && [ $i -lt {ticks} ]; "
        "do sleep 0.2; i=$((i+1)); done; "
        f"kill -KILL -- {group} 2>/dev/null; exit 0"
    )


def reap(build_ids: Collection[str], grace: float) -> str:
    """Stop every process whose environment carries one of the builds' markers, whatever
    group or session it made for itself; print how many there were."""
    for build_id in build_ids:
        if not BUILD_ID.match(build_id):
            raise ValueError(f"{build_id!r} is not a build id")
    pattern = shlex.quote("CROSSCHECK_BUILD_ID=(" + "|".join(sorted(build_ids)) + ")")
    ticks = max(1, int(grace * 5))
    # One grep over every environment: a node runs hundreds of processes.
    return (
        f"found() {{ grep -lzxE {pattern} /proc/[0-9]*/environ 2>/dev/null "
        "| sed -n 's|^/proc/\\([0-9]*\\)/environ$|\\1|p'; }; "
        'pids=$(found); [ -z "$pids" ] && { echo 0; exit 0; }; '
        'echo "$pids" | wc -l; kill -TERM $pids 2>/dev/null; i=0; '
        f'while [ -n "$(found)" ] && [ $i -lt {ticks} ]; do sleep 0.2; i=$((i+1)); done; '
        'left=$(found); [ -n "$left" ] && kill -KILL $left 2>/dev/null; exit 0'
    )


def clean(build_ids: Collection[str], directories: Collection[PurePosixPath], grace: float) -> str:
    """`reap`, then `remove` each directory: one command, one round trip per build."""
    parts = [reap(build_ids, grace), *(remove(d) for d in sorted(directories))]
    return "; ".join(f"({part})" for part in parts)


def remove(directory: PurePosixPath) -> str:
    """Remove a work directory, even one a build made read-only."""
    path = shlex.quote(str(directory))
    return f"[ -e {path} ] || exit 0; chmod -R u+rwX {path} 2>/dev/null; rm -rf {path}"


def unpack(directory: PurePosixPath) -> str:
    path = shlex.quote(str(directory))
    return f"rm -rf {path} && mkdir -p {path} && tar -C {path} -xf -"


def pack(directory: PurePosixPath, relative: PurePosixPath) -> str:
    """A tar of `relative` under `directory` on stdout; nothing when it does not exist."""
    where, what = shlex.quote(str(directory)), shlex.quote(str(relative))
    return f"cd {where} 2>/dev/null && [ -e {what} ] || exit 0; exec tar -cf - {what}"
