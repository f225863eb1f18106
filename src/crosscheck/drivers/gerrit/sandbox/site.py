"""A Gerrit site on disk: init, configuration, SSH keys, known hosts, ports."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import asyncssh

from crosscheck.drivers.gerrit.sandbox.distribution import GerritDistribution
from crosscheck.drivers.gerrit.sandbox.state import HOST, SandboxState, write_private
from crosscheck.errors import SandboxError
from crosscheck.prerequisites import GIT, require

# Settings for a disposable single-user server on loopback; Gerrit's defaults
# assume a shared production host.
SITE_SETTINGS = {
    "sendemail.enable": "false",
    "auth.type": "DEVELOPMENT_BECOME_ANY_ACCOUNT",
    "index.type": "lucene",
    "sshd.threads": "8",
    "sshd.batchThreads": "2",
    "sshd.streamThreads": "2",
    "httpd.maxThreads": "32",
    "gc.startTime": "",
    "receive.enableSignedPush": "false",
    "plugins.allowRemoteAdmin": "true",
}


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def init_site(dist: GerritDistribution, java: str, state: SandboxState) -> None:
    """Run Gerrit's batch init on an empty site directory."""
    site = state.site_dir
    if site.exists() and any(site.iterdir()):
        raise SandboxError(
            f"{site} is not empty but holds no initialized Gerrit site: remove it "
            "(or use another --state-dir) and run `crosscheck sandbox up` again"
        )
    home = state.state_dir / "home"
    home.mkdir(parents=True, exist_ok=True)
    command = dist.java_command(
        java, "512m", "init", "--batch", "--dev", "--no-auto-start", "-d", str(site)
    )
    # A scratch HOME keeps Gerrit and JGit away from the user's own ~/.gitconfig and ~/.ssh.
    env = {**os.environ, "HOME": str(home)}
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    log = state.state_dir / "init.log"
    log.write_text(completed.stdout + completed.stderr)
    if completed.returncode != 0:
        tail = "\n".join(log.read_text().strip().splitlines()[-12:])
        raise SandboxError(f"Gerrit init failed (exit {completed.returncode}); see {log}:\n{tail}")


def is_initialized(state: SandboxState) -> bool:
    return (state.site_dir / "etc" / "gerrit.config").exists()


def configure_site(state: SandboxState) -> None:
    """Bind HTTP and SSH to loopback on the state's ports and apply the sandbox settings."""
    settings = {
        **SITE_SETTINGS,
        "httpd.listenUrl": state.http_url,
        "gerrit.canonicalWebUrl": state.http_url,
        "sshd.listenAddress": f"{HOST}:{state.ssh_port}",
    }
    config = state.site_dir / "etc" / "gerrit.config"
    git = require(GIT)
    for key, value in settings.items():
        subprocess.run([git, "config", "-f", str(config), key, value], check=True)


def ensure_key(path: Path) -> str:
    """Create an ed25519 key pair at `path` if missing; return the public key line."""
    if not path.exists():
        key = asyncssh.generate_private_key("ssh-ed25519", comment=path.stem)
        write_private(path, key.export_private_key().decode())
        path.with_suffix(".pub").write_text(key.export_public_key().decode())
    return path.with_suffix(".pub").read_text().strip()


def write_known_hosts(state: SandboxState) -> None:
    """Trust exactly the sandbox's own host keys, so SSH clients can verify them."""
    lines = []
    for pub in sorted((state.site_dir / "etc").glob("ssh_host_*_key.pub")):
        key_type, key_data = pub.read_text().split()[:2]
        lines.append(f"[{HOST}]:{state.ssh_port} {key_type} {key_data}\n")
    if not lines:
        raise SandboxError(f"no SSH host keys in {state.site_dir / 'etc'}: the site is damaged")
    state.known_hosts.write_text("".join(lines))
