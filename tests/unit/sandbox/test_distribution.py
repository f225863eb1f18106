"""The Gerrit distribution assembled from Maven Central jars."""

from __future__ import annotations

from pathlib import Path

import pytest

from crosscheck.sandbox.gerrit import distribution
from crosscheck.sandbox.gerrit.distribution import (
    ARTIFACTS,
    GERRIT_VERSION,
    LAUNCHER_CLASS,
    GerritDistribution,
    _pom,
    distribution_in,
    ensure_distribution,
)


def test_the_pom_asks_maven_for_every_artifact() -> None:
    pom = _pom()
    for artifact in ARTIFACTS:
        assert f"<artifactId>{artifact.name}</artifactId><version>{artifact.version}" in pom
    assert "<artifactId>gerrit-plugin-api</artifactId>" in pom
    assert GERRIT_VERSION.startswith("3.10.")


def test_a_distribution_is_complete_only_with_every_jar_and_the_launcher(tmp_path: Path) -> None:
    dist = distribution_in(tmp_path)
    dist.lib_dir.mkdir(parents=True)
    for artifact in ARTIFACTS[:-1]:
        (dist.lib_dir / f"{artifact.name}-{artifact.version}.jar").touch()
    dist.launcher_dir.mkdir()
    (dist.launcher_dir / f"{LAUNCHER_CLASS}.class").touch()
    assert not dist.has_server()
    last = ARTIFACTS[-1]
    (dist.lib_dir / f"{last.name}-{last.version}.jar").touch()
    assert dist.has_server()
    # Complete also needs the release number Gerrit reports (below).
    assert not dist.is_complete()
    dist.write_version()
    assert dist.is_complete()


def _server_without_version(cache: Path) -> GerritDistribution:
    dist = distribution_in(cache)
    dist.lib_dir.mkdir(parents=True)
    for artifact in ARTIFACTS:
        (dist.lib_dir / f"{artifact.name}-{artifact.version}.jar").touch()
    dist.launcher_dir.mkdir()
    (dist.launcher_dir / f"{LAUNCHER_CLASS}.class").touch()
    return dist


def test_the_release_number_sits_where_gerrits_version_class_reads_it(tmp_path: Path) -> None:
    dist = _server_without_version(tmp_path)
    dist.write_version()
    # com.google.gerrit.common.Version reads the resource "Version" beside its class.
    resource = dist.launcher_dir / "com" / "google" / "gerrit" / "common" / "Version"
    assert resource.read_text() == f"{GERRIT_VERSION}\n"
    assert str(dist.launcher_dir) in dist.classpath().split(":")
    assert [p.name for p in resource.parent.iterdir()] == ["Version"]  # no partial file left


def test_a_cache_fetched_without_the_release_number_gets_it_without_a_fetch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = _server_without_version(tmp_path)

    def no_fetch(*_: object) -> None:
        raise AssertionError("nothing may be fetched or compiled again")

    monkeypatch.setattr(distribution, "_fetch_jars", no_fetch)
    monkeypatch.setattr(distribution, "_compile_launcher", no_fetch)
    assert ensure_distribution(tmp_path) == dist
    assert dist.version_resource.read_text().strip() == GERRIT_VERSION
    assert dist.is_complete()


def test_a_wrong_release_number_is_rewritten(tmp_path: Path) -> None:
    dist = _server_without_version(tmp_path)
    dist.version_resource.parent.mkdir(parents=True)
    dist.version_resource.write_text("3.9.0\n")
    assert not dist.has_version()
    ensure_distribution(tmp_path)
    assert dist.has_version()


def test_jars_sit_three_directories_below_the_cache(tmp_path: Path) -> None:
    # Gerrit resolves the great-grandparent of its jar when not run from a war.
    dist = distribution_in(tmp_path)
    assert dist.lib_dir.parent.parent.parent == tmp_path


def test_java_command_runs_the_launcher_with_the_whole_classpath(tmp_path: Path) -> None:
    dist = distribution_in(tmp_path)
    dist.lib_dir.mkdir(parents=True)
    (dist.lib_dir / "b.jar").touch()
    (dist.lib_dir / "a.jar").touch()
    command = dist.java_command("/usr/bin/java", "512m", "daemon", "-d", "site")
    assert command[:3] == ["/usr/bin/java", "-Xmx512m", "-cp"]
    assert command[3].split(":") == [
        str(dist.lib_dir / "a.jar"),
        str(dist.lib_dir / "b.jar"),
        str(dist.launcher_dir),
    ]
    assert command[4:] == [LAUNCHER_CLASS, "daemon", "-d", "site"]
