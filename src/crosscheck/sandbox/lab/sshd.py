"""One sshd per lab host: its configuration, its launch inside the host's namespace, and
the wait until it accepts connections."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from crosscheck.sandbox.lab import netns, processes
from crosscheck.sandbox.lab.errors import LabError
from crosscheck.sandbox.lab.tools import attempt

#: Debian installs sshd outside a non-root PATH.
DEBIAN_SSHD = Path("/usr/sbin/sshd")
#: sshd refuses to start without its privilege separation directory.
PRIVSEP_DIR = Path("/run/sshd")
#: Seconds sshd may take to accept connections after its launch.
READY_TIMEOUT = 10.0


def find_sshd() -> Path | None:
    """sshd's absolute path (it re-executes itself per connection, so it needs one)."""
    found = shutil.which("sshd")
    if found is not None:
        return Path(found).resolve()
    return DEBIAN_SSHD if DEBIAN_SSHD.is_file() else None


def require_sshd() -> Path:
    found = find_sshd()
    if found is None:
        raise LabError("sshd is not installed: apt-get install openssh-server")
    return found


def marker(prefix: str) -> str:
    """The first line of every config of a lab: how a later run recognises its leftovers."""
    return f"# crosscheck lab {prefix}"


@dataclass(frozen=True)
class SshdConfig:
    prefix: str
    address: str
    port: int
    host_key: Path
    pid_file: Path
    authorized_keys: Path
    user: str

    def render(self) -> str:
        return "\n".join(
            [
                f"{marker(self.prefix)}: written by crosscheck.sandbox.lab, rewritten on start",
                f"ListenAddress {self.address}",
                f"Port {self.port}",
                f"HostKey {self.host_key}",
                f"PidFile {self.pid_file}",
                f"AuthorizedKeysFile {self.authorized_keys}",
                # The lab's root is a temporary directory whose modes sshd would distrust.
                "StrictModes no",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "PermitRootLogin no",
                f"AllowUsers {self.user}",
                "UseDNS no",
                "ClientAliveInterval 0",
                # Benchmarks open many sessions and connections at once.
                "MaxSessions 50",
                "MaxStartups 100:30:200",
                "PrintMotd no",
                "PrintLastLog no",
                "X11Forwarding no",
                "Subsystem sftp internal-sftp",
                "",
            ]
        )


def check_config(sshd: Path, config: Path) -> None:
    completed = attempt([str(sshd), "-t", "-f", str(config)])
    if completed.returncode != 0:
        raise LabError(
            f"sshd rejects the lab's configuration {config}: "
            f"{(completed.stderr or completed.stdout).strip()}"
        )


def ensure_privsep_dir() -> None:
    PRIVSEP_DIR.mkdir(parents=True, exist_ok=True)
    PRIVSEP_DIR.chmod(0o755)


def launch(sshd: Path, namespace: str, config: Path, log: Path) -> subprocess.Popen[bytes]:
    """sshd in the foreground inside `namespace`; `ip netns exec` execs it, so the
    returned process is sshd itself. Its own session keeps terminal signals away."""
    with log.open("ab") as output:
        return subprocess.Popen(
            netns.exec_args(namespace, [str(sshd), "-D", "-e", "-f", str(config)]),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            start_new_session=True,
        )


def wait_listening(
    name: str, address: str, port: int, process: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if process.poll() is not None:
            raise LabError(
                f"sshd of {name} exited with {process.returncode} before accepting "
                f"connections; {log} ends with:\n{log_tail(log)}"
            )
        if _accepts(address, port):
            return
        if time.monotonic() > deadline:
            raise LabError(
                f"sshd of {name} did not accept connections on {address}:{port} within "
                f"{READY_TIMEOUT:g} s; {log} ends with:\n{log_tail(log)}"
            )
        time.sleep(0.02)


def _accepts(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


def log_tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def is_sshd(pid: int) -> bool:
    """The listener and its per-connection processes (`sshd-session` on OpenSSH 9.8+)."""
    return processes.command_name(pid).startswith("sshd")


def marked_listeners(prefix: str) -> list[int]:
    """sshd processes anywhere whose config carries this prefix's marker: they outlive
    their namespace when it was deleted under them, so they are not found through it."""
    found = []
    for pid in processes.all_pids():
        if not is_sshd(pid):
            continue
        words = processes.command_line(pid)
        if "-f" in words[:-1] and _marked(Path(words[words.index("-f") + 1]), prefix):
            found.append(pid)
    return found


def _marked(config: Path, prefix: str) -> bool:
    try:
        with config.open() as file:
            first = file.readline()
    except OSError:
        return False
    return first.startswith(marker(prefix) + ":")
