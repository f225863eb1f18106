"""Checks for the outside tools crosscheck drives, with an install hint for each."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

from crosscheck.errors import PrerequisiteError

MIN_JAVA = 17


@dataclass(frozen=True)
class Tool:
    """An executable crosscheck needs, and the Debian package that provides it."""

    command: str
    purpose: str
    debian_package: str

    def hint(self) -> str:
        return (
            f"install it with `apt-get install {self.debian_package}` (needed for {self.purpose})"
        )


JAVA = Tool("java", "running the sandbox Gerrit", "openjdk-17-jdk-headless")
JAVAC = Tool("javac", "compiling the sandbox Gerrit launcher", "openjdk-17-jdk-headless")
MAVEN = Tool("mvn", "fetching Gerrit from Maven Central", "maven")
GIT = Tool("git", "pushing changes and preparing workspaces", "git")


def require(tool: Tool) -> str:
    """Return the tool's absolute path, or raise a PrerequisiteError saying how to install it."""
    path = shutil.which(tool.command)
    if path is None:
        raise PrerequisiteError(f"`{tool.command}` was not found on PATH: {tool.hint()}.")
    return path


def parse_java_major(version_output: str) -> int | None:
    """The major version from `java -version` output (`"17.0.15"`, `"1.8.0_402"`, `"21"`)."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if match is None:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2) is not None:  # Java 8 and older report "1.x"
        return int(match.group(2))
    return major


def require_java() -> str:
    """Return the java executable after checking it is Java 17 or newer."""
    java = require(JAVA)
    completed = subprocess.run(
        [java, "-version"], capture_output=True, text=True, check=False, timeout=60
    )
    output = completed.stderr + completed.stdout
    major = parse_java_major(output)
    if major is None:
        raise PrerequisiteError(
            f"could not read the Java version from `{java} -version` (it printed {output!r}); "
            f"{JAVA.hint()}."
        )
    if major < MIN_JAVA:
        raise PrerequisiteError(
            f"Java {major} found at {java}, but Gerrit 3.10 needs Java {MIN_JAVA} or 21: "
            f"{JAVA.hint()}, then select it with `update-alternatives --config java`."
        )
    return java


def require_all(tools: tuple[Tool, ...]) -> None:
    """Check several tools at once so the user learns everything missing in one go."""
    missing = [tool for tool in tools if shutil.which(tool.command) is None]
    if missing:
        packages = " ".join(sorted({tool.debian_package for tool in missing}))
        names = ", ".join(f"`{tool.command}` ({tool.purpose})" for tool in missing)
        raise PrerequisiteError(
            f"missing on PATH: {names}. Install with `apt-get install {packages}`."
        )
