"""serve reads every secret and key its configuration names before it makes anything: a
wrong path stops it at once, naming the setting, with no store or token made."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crosscheck.config.secrets import SecretError
from crosscheck.serve.wiring import ServeOptions, build_service

EXAMPLE = Path(__file__).parents[2] / "examples" / "sandbox-ci"


def config_with(tmp_path: Path, connection: str) -> Path:
    directory = tmp_path / "config"
    shutil.copytree(EXAMPLE, directory, ignore=shutil.ignore_patterns("*.md"))
    (directory / "connection.yaml").write_text(connection)
    return directory


def connection(key: Path, password: Path) -> str:
    return f"""
- connection:
    name: sandbox
    host: 127.0.0.1
    http_url: http://127.0.0.1:9/
    user: crosscheck-ci
    ssh_key: {key}
    http_password_file: {password}
"""


@pytest.mark.parametrize("missing", ["ssh_key", "http_password_file"])
async def test_a_key_or_password_file_that_cannot_be_read_stops_serve_before_its_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    key, password = tmp_path / "ci_ed25519", tmp_path / "password"
    key.write_text("a key")
    password.write_text("secret")
    (key if missing == "ssh_key" else password).unlink()
    database = tmp_path / "crosscheck.db"
    options = ServeOptions(
        [config_with(tmp_path, connection(key, password))], f"sqlite+aiosqlite:///{database}"
    )

    with pytest.raises(SecretError) as refused:
        await build_service(options)

    said = str(refused.value)
    assert said.startswith("connection 'sandbox'")
    assert str(key if missing == "ssh_key" else password) in said
    assert "No such file or directory" in said
    assert not database.exists()  # nothing made
