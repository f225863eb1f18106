"""The Gerrit distribution assembled from Maven Central jars."""

from __future__ import annotations

from pathlib import Path

from crosscheck.drivers.gerrit.sandbox.distribution import (
    ARTIFACTS,
    GERRIT_VERSION,
    LAUNCHER_CLASS,
    _pom,
    distribution_in,
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
    assert not dist.is_complete()
    last = ARTIFACTS[-1]
    (dist.lib_dir / f"{last.name}-{last.version}.jar").touch()
    assert dist.is_complete()


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
