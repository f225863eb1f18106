"""Gerrit from Maven Central, fetched with Maven into the user's cache and reused.

Gerrit publishes its server on Maven Central in two jars that its own acceptance
tests run a complete server from: `gerrit-plugin-api` (the server and its
libraries) and `gerrit-acceptance-framework` (the daemon and init programs, Jetty,
H2). `gerrit-war` itself is not served by every mirror of Maven Central (it is
not by the one this project's CI reaches), so crosscheck assembles the same
server from these jars plus the BouncyCastle jars Gerrit 3.10 builds against.
The result runs headless: REST, SSH and git are all there; the web UI is not.

A war carries the release number as a resource that `com.google.gerrit.common.Version`
reads (`com/google/gerrit/common/Version`, one line); these jars do not, and Gerrit
would say "(dev)" to `gerrit version` and `/config/server/version`, which clients
that parse the version refuse. The launcher directory, on the classpath, holds it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from crosscheck.sandbox.errors import SandboxError
from crosscheck.sandbox.prerequisites import JAVA, JAVAC, MAVEN, require, require_all, require_java

GERRIT_VERSION = "3.10.2"
BOUNCYCASTLE_VERSION = "1.72"  # the version Gerrit 3.10 is built against
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1"
LAUNCHER_CLASS = "CrosscheckGerritLauncher"
#: Where Gerrit's `Version` class looks for the release number, relative to the classpath.
VERSION_RESOURCE = "com/google/gerrit/common/Version"


@dataclass(frozen=True)
class Artifact:
    group: str
    name: str
    version: str

    def pom_dependency(self) -> str:
        return (
            f"<dependency><groupId>{self.group}</groupId><artifactId>{self.name}</artifactId>"
            f"<version>{self.version}</version></dependency>"
        )


ARTIFACTS = (
    Artifact("com.google.gerrit", "gerrit-plugin-api", GERRIT_VERSION),
    Artifact("com.google.gerrit", "gerrit-acceptance-framework", GERRIT_VERSION),
    *(
        Artifact("org.bouncycastle", f"{name}-jdk18on", BOUNCYCASTLE_VERSION)
        for name in ("bcprov", "bcpkix", "bcpg", "bcutil")
    ),
)


@dataclass(frozen=True)
class GerritDistribution:
    """A Gerrit server ready to run: jars plus the compiled launcher.

    The jars must sit at least three directories deep: Gerrit derives a path from
    the jar's great-grandparent directory when it is not running from a war.
    """

    root: Path
    version: str = GERRIT_VERSION

    @property
    def lib_dir(self) -> Path:
        return self.root / "lib"

    @property
    def launcher_dir(self) -> Path:
        return self.root / "launcher"

    @property
    def version_resource(self) -> Path:
        return self.launcher_dir / VERSION_RESOURCE

    def jars(self) -> list[Path]:
        return sorted(self.lib_dir.glob("*.jar"))

    def classpath(self) -> str:
        return ":".join([*(str(jar) for jar in self.jars()), str(self.launcher_dir)])

    def is_complete(self) -> bool:
        return self.has_server() and self.has_version()

    def has_server(self) -> bool:
        """Every jar and the compiled launcher."""
        names = {jar.name for jar in self.jars()}
        wanted = {f"{a.name}-{a.version}.jar" for a in ARTIFACTS}
        launcher = self.launcher_dir / f"{LAUNCHER_CLASS}.class"
        return wanted <= names and launcher.exists()

    def has_version(self) -> bool:
        try:
            return self.version_resource.read_text().strip() == self.version
        except OSError:
            return False

    def write_version(self) -> None:
        """The release number where Gerrit reads it; a cache fetched before this
        existed gets it at the next `up`, without fetching anything again."""
        self.version_resource.parent.mkdir(parents=True, exist_ok=True)
        # Whole or absent: a Gerrit starting meanwhile from the same cache reads one or the other.
        partial = self.version_resource.with_name(f".Version.{os.getpid()}")
        partial.write_text(self.version + "\n")
        partial.replace(self.version_resource)

    def java_command(
        self, java: str, heap: str, program: str, *args: str, jvm_options: tuple[str, ...] = ()
    ) -> list[str]:
        return [
            java,
            f"-Xmx{heap}",
            *jvm_options,
            "-cp",
            self.classpath(),
            LAUNCHER_CLASS,
            program,
            *args,
        ]


def distribution_in(cache: Path) -> GerritDistribution:
    return GerritDistribution(cache / "gerrit" / GERRIT_VERSION)


def ensure_distribution(
    cache: Path, report: Callable[[str], None] = lambda _: None
) -> GerritDistribution:
    """Return the cached distribution, fetching and building what is missing."""
    dist = distribution_in(cache)
    if not dist.has_server():
        require_all((JAVA, JAVAC, MAVEN))
        require_java()
        if not {f"{a.name}-{a.version}.jar" for a in ARTIFACTS} <= {j.name for j in dist.jars()}:
            report(f"downloading Gerrit {dist.version} from Maven Central with Maven")
            _fetch_jars(dist)
        report("compiling the Gerrit launcher")
        _compile_launcher(dist)
    if not dist.has_version():
        dist.write_version()
    return dist


def _pom() -> str:
    dependencies = "".join(a.pom_dependency() for a in ARTIFACTS)
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0">'
        "<modelVersion>4.0.0</modelVersion><groupId>crosscheck</groupId>"
        "<artifactId>gerrit-sandbox</artifactId><version>1</version><packaging>pom</packaging>"
        f"<dependencies>{dependencies}</dependencies></project>"
    )


def _fetch_jars(dist: GerritDistribution) -> None:
    mvn = require(MAVEN)
    dist.root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="crosscheck-mvn-", dir=dist.root) as scratch:
        pom = Path(scratch) / "pom.xml"
        pom.write_text(_pom())
        partial = Path(scratch) / "lib"
        command = [
            mvn,
            "-B",
            "-q",
            "-f",
            str(pom),
            f"{DEPENDENCY_PLUGIN}:copy-dependencies",
            f"-DoutputDirectory={partial}",
            "-DexcludeTransitive=true",
        ]
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            tail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-15:])
            raise SandboxError(
                f"Maven could not fetch Gerrit {dist.version} "
                f"(`{' '.join(command)}` exited {completed.returncode}):\n{tail}\n"
                "Check that this machine reaches Maven Central (or a mirror set in "
                "~/.m2/settings.xml)."
            )
        # Move into place only once complete, so an interrupted fetch is retried, not trusted.
        shutil.rmtree(dist.lib_dir, ignore_errors=True)
        partial.rename(dist.lib_dir)


def _compile_launcher(dist: GerritDistribution) -> None:
    javac = require(JAVAC)
    source = resources.files(__package__).joinpath("java", f"{LAUNCHER_CLASS}.java")
    dist.launcher_dir.mkdir(parents=True, exist_ok=True)
    with resources.as_file(source) as source_path:
        command = [
            javac,
            "-nowarn",
            "-cp",
            ":".join(str(j) for j in dist.jars()),
            "-d",
            str(dist.launcher_dir),
            str(source_path),
        ]
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SandboxError(
            f"compiling the Gerrit launcher failed:\n{completed.stderr.strip()}\n"
            f"Delete {dist.root} and run `crosscheck sandbox up` again to fetch afresh."
        )
