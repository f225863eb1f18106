"""Local builds confined by bubblewrap, as Zuul's executor confines untrusted playbooks.

A build on this host's own slots runs as the service's user. Unconfined, its steps
could write the git mirrors the next builds clone (a planted `master` that an
innocent change then merges onto), read the service's environment through
/proc/PID/environ, and read its store, its secrets and the other builds' files.
Inside bubblewrap (`bwrap`, no privilege needed beyond user namespaces) a step sees:

- the whole file system read-only, so neither a mirror nor the service's code or
  configuration can be changed;
- its own work directory writable, its `tmp/` as /tmp and its `shm/` as /dev/shm (on
  disk, not in memory, and gone with the work directory), and a read-only /dev of its
  own;
- in place of the service's state and logs directories, the sandbox's, the work root
  (the other builds) and every secret file the configuration names now: nothing (an
  empty read-only tmpfs, or /dev/null for a file, which cannot be opened);
- only its own processes in /proc (a PID namespace of its own), which all end with
  the step: a step's `setsid` or `nohup` cannot outlive it, nor outlive the service;
  a stopped step's processes still get their grace (`REAPER`);
- no capability, even where the service runs as root, and no way to gain one (no
  setuid: `sudo` does not work inside).

The network is left as it is: builds fetch dependencies.
"""

from __future__ import annotations

import shutil
import stat
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path

from crosscheck.errors import CrosscheckError

#: How long the check that bubblewrap works on this host may take.
PROBE_TIMEOUT = 20.0
INSTALL_HINT = "sudo apt-get install bubblewrap"
#: A PID namespace (its processes alone, all ending with it), IPC apart, no capability
#: even where serve runs as root (which could otherwise remount / writable), and the
#: whole confinement killed should serve die.
NAMESPACES = ("--unshare-pid", "--unshare-ipc", "--cap-drop", "ALL", "--die-with-parent")
#: Every step gets a /tmp of its own: its work directory's `tmp/`.
TMP = Path("/tmp")  # noqa: S108 - the step's own: not the host's
#: The link a Kubernetes secret volume swaps to rotate its files.
KUBERNETES_DATA = "..data"
#: A crosscheck sandbox's state file (sandbox/gerrit/state.py's STATE_FILE).
SANDBOX_STATE = "sandbox.json"
#: Where a step's POSIX shared memory goes, in its work directory: on disk too.
SHM = "shm"
DEV = Path("/dev")
#: The step's first process inside: bubblewrap ends every process of the namespace as
#: soon as the step's own shell ends, which a SIGTERM does at once, before a child that
#: traps it has cleaned up (`bash ci.sh` from a step). This shell takes the SIGTERM,
#: waits for the step, and then, when stopping, for every other process inside to end,
#: however long: the executor's SIGKILL at the end of `kill_grace` bounds it. In the
#: foreground, the step keeps every signal's default (a background job's INT and QUIT
#: would be ignored).
REAPER = """trap 'stopping=1' TERM
"$@"
status=$?
while [ -n "${stopping-}" ]; do
  others=
  for process in /proc/[0-9]*; do
    case "${process#/proc/}" in 1|$$) ;; *) others=1; break ;; esac
  done
  [ -n "$others" ] || break
  sleep 0.1
done
exit "$status"
"""


def _no_files() -> Iterable[Path]:
    return ()


class ConfineMode(StrEnum):
    """The executor's `confine` setting."""

    #: bubblewrap when it works here, else unconfined (said at start).
    AUTO = "auto"
    #: bubblewrap or no start.
    BUBBLEWRAP = "bubblewrap"
    NONE = "none"


class ConfinementError(CrosscheckError):
    """`confine: bubblewrap` on a host where bubblewrap does not work."""


@dataclass(frozen=True)
class Confinement:
    """How a local build's steps are wrapped: what they may not see, what they may read."""

    bwrap: str
    #: Directories a step sees empty (the state, logs and work roots).
    hidden_dirs: tuple[Path, ...] = ()
    #: Files a step sees as /dev/null (the secrets, the store, the SSH agent's socket).
    hidden_files: tuple[Path, ...] = ()
    #: Directories a step reads although they lie in a hidden one (the git cache).
    readable_dirs: tuple[Path, ...] = ()
    #: More files to hide, named by the configuration as it is now (a reload may name a
    #: new token file): asked at each step.
    live_files: Callable[[], Iterable[Path]] = field(default=_no_files, compare=False)

    def wrap(self, argv: Sequence[str], work_dir: Path, cwd: Path) -> list[str]:
        """`argv` to run inside the confinement, `work_dir` writable, its `tmp/` as /tmp
        and its `SHM` (made by `prepare`) as /dev/shm, starting in `cwd`."""
        files = [*self.hidden_files, *self.live_files()]
        directories = [*self.hidden_dirs, *_secret_homes(files)]
        hidden = _outermost([TMP, *(d for d in directories if d.is_dir())])
        mounts = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        mounts += ["--bind", str(work_dir / "tmp"), str(TMP)]
        mounts += ["--bind", str(work_dir / SHM), str(DEV / "shm")]
        for directory in hidden[1:]:
            mounts += ["--tmpfs", str(directory)]
        for file in _now_at(files):
            if not _inside_any(file, hidden):
                mounts += ["--ro-bind", "/dev/null", str(file)]
        for directory in self.readable_dirs:
            if directory.is_dir() and _inside_any(directory, hidden):
                mounts += ["--ro-bind", str(directory), str(directory)]
        mounts += ["--bind", str(work_dir), str(work_dir)]
        # After the mount points made in them; /dev too, a tmpfs in memory (its devices
        # still work: a read-only mount stops files, not device nodes).
        for directory in (*hidden[1:], DEV):
            mounts += ["--remount-ro", str(directory)]
        return [
            self.bwrap,
            *NAMESPACES,
            *mounts,
            "--chdir", str(cwd),
            "--",
            argv[0], "-c", REAPER, "crosscheck-step",
            *argv,
        ]  # fmt: skip


def prepare(work_dir: Path) -> list[str]:
    """Make what `Confinement.wrap` binds from the work directory (`tmp/`, `SHM`) real
    directories, afresh where a step left something else; the names replaced.
    bubblewrap follows a link: a step that swapped `tmp/` for a link to a directory of
    the service's would have it bound writable, as /tmp, into the next step. No process
    of the last step is left to swap it again (all end with their step)."""
    replaced: list[str] = []
    for name in (TMP.name, SHM):
        path = work_dir / name
        try:
            if stat.S_ISDIR(path.lstat().st_mode):
                continue
        except FileNotFoundError:
            path.mkdir()
            continue
        path.unlink()  # a link or a file: never followed
        path.mkdir()
        replaced.append(name)
    return replaced


def confinement(
    mode: ConfineMode,
    hidden_dirs: Iterable[Path] = (),
    hidden_files: Iterable[Path] = (),
    readable_dirs: Iterable[Path] = (),
) -> Confinement | None:
    """The confinement `mode` asks for on this host; None when builds run unconfined.
    ConfinementError when `bubblewrap` is required and does not work here."""
    if mode is ConfineMode.NONE:
        return None
    bwrap = shutil.which("bwrap")
    problem = unconfined_because()
    if problem is not None or bwrap is None:
        if mode is ConfineMode.BUBBLEWRAP:
            raise ConfinementError(
                f"executor confine: bubblewrap, but {(problem or '').rstrip('.')}: make bubblewrap "
                "work here, or set 'confine: none' for builds you trust on this host"
            )
        return None
    return Confinement(bwrap, _resolved(hidden_dirs), tuple(hidden_files), _resolved(readable_dirs))


@cache  # once per process: serve checks before it makes its store, then builds with it
def probe(bwrap: str) -> str | None:
    """None when bubblewrap can make a confinement here, else what went wrong (a kernel
    without unprivileged user namespaces, a container that forbids them)."""
    argv = [bwrap, *NAMESPACES, "--ro-bind", "/", "/", "--proc", "/proc", "--", "true"]
    try:
        ran = subprocess.run(
            argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bwrap cannot run: {error}"
    if ran.returncode != 0:
        said = ran.stderr.strip().splitlines()
        return f"bwrap cannot confine a build here: {said[-1] if said else ran.returncode}"
    return None


def unconfined_because() -> str | None:
    """Why bubblewrap cannot confine a build here; None when it can."""
    bwrap = shutil.which("bwrap")
    return probe(bwrap) if bwrap else f"bwrap is not installed ({INSTALL_HINT})"


def not_confined_because(mode: str) -> str:
    """Why builds on this host run unconfined under the setting `mode`, in the words
    serve's start and `crosscheck run` both use."""
    if mode == ConfineMode.NONE:
        return "'confine: none'"
    return f"no working bubblewrap: {unconfined_because()}"


def _secret_homes(files: Iterable[Path]) -> list[Path]:
    """Directories to hide whole for the secret files in them: a Kubernetes secret
    volume (its `..data` link can be swapped to a new version while a step runs, out
    of a file mount's reach), and a sandbox of crosscheck's, whose `sandbox.json` holds
    its Gerrit admin's password beside the CI account's secrets its connection names."""
    homes: dict[Path, None] = {}
    for file in files:
        if (file.parent / KUBERNETES_DATA).exists():
            homes[file.parent.resolve()] = None
        for directory in (file.parent, file.parent.parent):
            if (directory / SANDBOX_STATE).is_file():
                homes[directory.resolve()] = None
    return list(homes)


def _now_at(*groups: Iterable[Path]) -> list[Path]:
    """Each file where it was named, and where its links lead now, when either is
    there: a secret rotated by swapping a link is hidden at its new target too."""
    found: dict[Path, None] = {}
    for path in (p for group in groups for p in group):
        for where in (path.absolute(), path.resolve()):
            if where.exists() and not where.is_dir():
                found[where] = None
    return list(found)


def _resolved(paths: Iterable[Path]) -> tuple[Path, ...]:
    """Absolute, links resolved: bubblewrap mounts on the real paths."""
    return tuple(path.resolve() for path in paths)


def _outermost(directories: Sequence[Path]) -> list[Path]:
    """Each directory once, the first first, without those inside another: one tmpfs
    hides them all."""
    found = sorted(dict.fromkeys(directories), key=lambda d: (d != directories[0], len(d.parts)))
    kept: list[Path] = []
    for directory in found:
        if not _inside_any(directory, kept):
            kept.append(directory)
    return kept


def _inside_any(path: Path, directories: Iterable[Path]) -> bool:
    return any(path == d or d in path.parents for d in directories)
