"""serve reads every secret and key its configuration names before it makes anything: a
wrong path stops it at once, naming the setting, with no store or token made."""

from __future__ import annotations

from pathlib import Path

import pytest

from crosscheck.config.secrets import SecretError
from crosscheck.executor.confinement import ConfinementError
from crosscheck.serve.wiring import ServeOptions, build_service
from tests.unit.serve_example import config_with, connection


@pytest.mark.parametrize("missing", ["ssh_key", "known_hosts", "http_password_file"])
async def test_a_key_or_password_file_that_cannot_be_read_stops_serve_before_its_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    files = {
        "ssh_key": tmp_path / "ci_ed25519",
        "known_hosts": tmp_path / "known_hosts",
        "http_password_file": tmp_path / "password",
    }
    for path in files.values():
        path.write_text("something")
    files[missing].unlink()
    database = tmp_path / "crosscheck.db"
    made = connection(*files.values())
    options = ServeOptions([config_with(tmp_path, made)], f"sqlite+aiosqlite:///{database}")

    with pytest.raises(SecretError) as refused:
        await build_service(options)

    said = str(refused.value)
    assert said.startswith("connection 'sandbox'")
    assert str(files[missing]) in said
    assert missing in said  # the setting to fix, as written in the configuration
    assert "No such file or directory" in said
    assert not database.exists()  # nothing made


async def test_confine_bubblewrap_without_a_working_one_stops_serve_before_its_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setattr("crosscheck.executor.confinement.shutil.which", lambda _: None)
    files = [tmp_path / "ci_ed25519", tmp_path / "known_hosts", tmp_path / "password"]
    for path in files:
        path.write_text("something")
    directory = config_with(tmp_path, connection(*files))
    settings = directory / "ci.yaml"
    settings.write_text(
        settings.read_text().replace("slots: 2", "slots: 2\n    confine: bubblewrap")
    )
    database = tmp_path / "crosscheck.db"
    options = ServeOptions([directory], f"sqlite+aiosqlite:///{database}")

    with pytest.raises(ConfinementError) as refused:
        await build_service(options)

    said = str(refused.value)
    assert said.startswith("executor confine: bubblewrap, but bwrap is not installed")
    assert not database.exists()  # nothing made
