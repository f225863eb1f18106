"""What a sandbox remembers between commands: ports, accounts, credentials.

The state file holds passwords, so it is written readable by its owner only.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from pydantic import BaseModel, Field

from crosscheck.paths import default_sandbox_dir, write_private
from crosscheck.sandbox.errors import SandboxError, SandboxNotInitializedError

STATE_FILE = "sandbox.json"
HOST = "127.0.0.1"
DEFAULT_PROJECT = "sandbox/ci-sandbox"
ADMIN_USER = "admin"
ADMIN_EMAIL = "admin@example.com"
CI_USER = "crosscheck-ci"
CI_NAME = "Crosscheck Sandbox CI"
CI_EMAIL = "crosscheck-ci@example.com"
#: The HTTP password `gerrit init --dev` gives the first admin; replaced on first `up`.
INITIAL_ADMIN_PASSWORD = "secret"  # noqa: S105 -- Gerrit's documented dev-mode default


PROJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


def check_project_name(name: str) -> str:
    """A project name Gerrit stores as given (no `.git` suffix, no empty parts)."""
    if not PROJECT_NAME.match(name) or name.endswith(".git"):
        raise SandboxError(
            f"{name!r} is not a usable project name: use letters, digits, '.', '_', '-' in "
            "parts separated by '/', e.g. 'sandbox/my-driver' (no '.git' suffix)"
        )
    return name


def sandbox_command(state_dir: Path, *args: str) -> str:
    """The command line a user would type for this sandbox, `--state-dir` included if needed."""
    default = state_dir.resolve() == default_sandbox_dir().resolve()
    where = "" if default else f" --state-dir {state_dir}"
    return f"crosscheck sandbox{where} {' '.join(args)}"


def new_password() -> str:
    return secrets.token_urlsafe(24)


class Account(BaseModel):
    """An account the sandbox created, and where its secrets are kept."""

    username: str
    email: str
    http_password: str = Field(default_factory=new_password, repr=False)
    ssh_key: Path


class SandboxState(BaseModel):
    """Persisted state of one sandbox, rooted at `state_dir`."""

    state_dir: Path
    gerrit_version: str
    http_port: int
    ssh_port: int
    admin: Account
    ci: Account
    projects: list[str] = Field(default_factory=lambda: [DEFAULT_PROJECT])
    pid: int | None = None
    #: True once accounts, label and projects are set up on the running Gerrit.
    provisioned: bool = False

    @property
    def site_dir(self) -> Path:
        return self.state_dir / "site"

    @property
    def http_url(self) -> str:
        return f"http://{HOST}:{self.http_port}/"

    @property
    def known_hosts(self) -> Path:
        return self.state_dir / "known_hosts"

    @property
    def ci_password_file(self) -> Path:
        return self.state_dir / "secrets" / "ci_http_password"

    @property
    def connection_file(self) -> Path:
        return self.state_dir / "connection.yaml"

    @property
    def log_config(self) -> Path:
        return self.state_dir / "log4j.properties"  # outside the site: init wants it empty

    def rest_url(self, project: str, number: int) -> str:
        """A URL that shows the change (the sandbox has no web UI)."""
        return f"{self.http_url}changes/{project.replace('/', '%2F')}~{number}"

    def command(self, *args: str) -> str:
        return sandbox_command(self.state_dir, *args)

    @property
    def log_file(self) -> Path:
        return self.site_dir / "logs" / "crosscheck-daemon.log"

    def save(self) -> None:
        write_private(self.state_dir / STATE_FILE, self.model_dump_json(indent=2))

    @classmethod
    def load(cls, state_dir: Path) -> SandboxState:
        path = state_dir / STATE_FILE
        if not path.exists():
            raise SandboxNotInitializedError(
                f"no sandbox in {state_dir}: create one with `{sandbox_command(state_dir, 'up')}`"
            )
        return cls.model_validate_json(path.read_text())

    @classmethod
    def exists(cls, state_dir: Path) -> bool:
        return (state_dir / STATE_FILE).exists()
