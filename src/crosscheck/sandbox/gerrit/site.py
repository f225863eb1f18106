"""A Gerrit site on disk: init, configuration, SSH keys, known hosts, ports."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import asyncssh

from crosscheck.checks import PLUGIN_FILE, PluginConfig, plugin_source
from crosscheck.paths import write_private
from crosscheck.sandbox.errors import SandboxError
from crosscheck.sandbox.gerrit.distribution import GerritDistribution
from crosscheck.sandbox.gerrit.state import HOST, SandboxState
from crosscheck.sandbox.prerequisites import GIT, require

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


# gerrit.war carries a log4j.properties that puts the root logger at INFO; the Maven
# jars do not, and log4j's own default is DEBUG, which writes every request's
# Authorization header and password bodies into error_log. Once a configuration is
# given, Gerrit leaves logging to it entirely, so this one also makes Gerrit's usual
# files: error_log, sshd_log (who connected, which commands) and httpd_log.
LOG_CONFIG = """\
log4j.rootLogger=INFO, console, error_log
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.Target=System.err
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=[%d] %-5p %c: %m%n
log4j.appender.error_log=org.apache.log4j.FileAppender
log4j.appender.error_log.File={logs}/error_log
log4j.appender.error_log.layout=org.apache.log4j.PatternLayout
log4j.appender.error_log.layout.ConversionPattern=[%d] [%t] %-5p %c: %m%n
log4j.logger.sshd_log=INFO, sshd_log
log4j.additivity.sshd_log=false
log4j.appender.sshd_log=org.apache.log4j.FileAppender
log4j.appender.sshd_log.File={logs}/sshd_log
log4j.appender.sshd_log.layout=com.google.gerrit.sshd.SshLogLayout
log4j.logger.httpd_log=INFO, httpd_log
log4j.additivity.httpd_log=false
log4j.appender.httpd_log=org.apache.log4j.FileAppender
log4j.appender.httpd_log.File={logs}/httpd_log
log4j.appender.httpd_log.layout=com.google.gerrit.pgm.http.jetty.HttpLogLayout
log4j.logger.org.eclipse.jgit=WARN
log4j.logger.org.eclipse.jetty=WARN
log4j.logger.org.apache.sshd=WARN
log4j.logger.org.apache.http=WARN
"""


def write_log_config(state: SandboxState) -> tuple[str, ...]:
    """Write the log4j configuration; return the JVM options that select it."""
    state.log_config.parent.mkdir(parents=True, exist_ok=True)
    state.log_config.write_text(LOG_CONFIG.format(logs=state.site_dir / "logs"))
    return (f"-Dlog4j.configuration=file:{state.log_config}",)


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
            f"and run `{state.command('up')}` again"
        )
    home = state.state_dir / "home"
    home.mkdir(parents=True, exist_ok=True)
    # No log configuration for init: its file appenders would create site/logs first, and
    # init treats a non-empty site as an existing one (then no dev admin is created).
    # Init logs only errors, to the console captured below.
    init_args = ("init", "--batch", "--dev", "--no-auto-start", "-d", str(site))
    command = dist.java_command(java, "512m", *init_args)
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


#: Where `crosscheck serve` listens by default, so the site's Checks tab plugin reads it.
DEFAULT_SERVE_URL = "http://127.0.0.1:8080"


def install_checks_plugin(state: SandboxState, results_url: str = DEFAULT_SERVE_URL) -> Path:
    """The Checks tab plugin in the site's plugins/, as a production site installs it.

    The sandbox has no web UI to show it (Gerrit's UI bundle is not on Maven Central), but
    Gerrit loads the file and lists it, so a site with a UI gets the same file working.
    """
    target = state.site_dir / "plugins" / PLUGIN_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(plugin_source(PluginConfig(results_url)), encoding="utf-8")
    return target


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
