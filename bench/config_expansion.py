"""Jobs from templates: crosscheck against Jenkins Job Builder, side by side, in one run.

Both tools get the same definitions: projects, each expanding one job template over
4 installers x scenarios x test suites (10 x 4 x 10 x 10 = 4,000 jobs by default), with
a node, a shell step, an environment and a timeout. Jenkins Job Builder (the current
6.x) is installed from PyPI into a virtualenv of the bench's own (`--peer-venv`, reused
when present), never into crosscheck's environment.

The peers. JJB has no command that only checks: it checks a job (its modules, their
values) while generating the job's XML. The cheapest command that checks every job is
`jenkins-jobs test`, which prints each job's XML; so it is the peer of
`crosscheck config check` (expand, resolve, validate everything) and, as it prints
every job, of `crosscheck config show` (YAML and JSON) too. `jenkins-jobs test -o DIR`
does the same and writes a file per job, work neither crosscheck command does: it is
measured as a reference (earlier figures used it), not as the goals' peer.
`jenkins-jobs list -p` expands the job names alone, without checking or generating
them: a reference for what JJB's expansion costs.

Each command runs as a child process (interpreter start included), in interleaved
rounds; per child its wall time, its CPU time (user + system, steadier on a busy
machine) and its peak RSS (wait4). Medians; the ratios beside the goals of issue 18:
`config check` >= 15x and `config show` >= 10x faster than `jenkins-jobs test`, peak
RSS <= JJB's. Also `load_config()` in this process, the commit and the load average.

    python -m bench.config_expansion [--rounds 5] [--peer-venv DIR]
    python -m bench.config_expansion --projects 1 --scenarios 10 --suites 1   # 40 jobs
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.bytecode import byte_compiled
from crosscheck.config import load_config

INSTALLERS = ["apex", "fuel", "compass", "joid"]
#: What `pip install` gets into a new peer venv: the current 6.x release.
JJB_REQUIREMENT = "jenkins-job-builder>=6,<7"
DEFAULT_PEER_VENV = Path.home() / ".cache" / "crosscheck-bench" / "jjb-6"
CHECK_GOAL, SHOW_GOAL = 15.0, 10.0
ROOT = Path(__file__).parents[1]


@dataclass(frozen=True)
class Matrix:
    projects: int
    scenarios: int
    suites: int

    @property
    def jobs(self) -> int:
        return self.projects * len(INSTALLERS) * self.scenarios * self.suites

    def names(self) -> tuple[list[str], list[str], list[str]]:
        return (
            [f"proj{i:02d}" for i in range(self.projects)],
            [f"os-sc{i}-ha" for i in range(self.scenarios)],
            [f"suite{i}" for i in range(self.suites)],
        )


#: The default matrix, 4,000 jobs; bench/scheduler.py configures the same.
FULL = Matrix(projects=10, scenarios=10, suites=10)
PROJECTS = FULL.names()[0]


def crosscheck_config(matrix: Matrix = FULL) -> str:
    projects, scenarios, suites = matrix.names()
    head = f"""
- connection:
    name: gerrit
    host: review.example.org
    http_url: https://review.example.org/
    user: ci
    http_password_env: CI_PASSWORD
- pipeline:
    name: check
    manager: independent
    trigger:
      gerrit: [{{event: patchset-created}}]
    success: {{gerrit: {{labels: {{Verified: 1}}}}}}
    failure: {{gerrit: {{labels: {{Verified: -1}}}}}}
{"".join(f"- label: {{name: {i}-pod}}{chr(10)}" for i in INSTALLERS)}
- job-template:
    name: "{{name}}-{{installer}}-{{scenario}}-{{suite}}"
    node: "{{installer}}-pod"
    timeout: 3h
    env:
      INSTALLER_TYPE: "{{installer}}"
      DEPLOY_SCENARIO: "{{scenario}}"
    run:
      - "./deploy.sh {{installer}} {{scenario}} && ./test.sh {{suite}}"
"""
    return head + "".join(
        f"""
- project:
    name: {name}
    parameters:
      installer: {INSTALLERS}
      scenario: {scenarios}
      suite: {suites}
    check:
      jobs: ["{{name}}-{{installer}}-{{scenario}}-{{suite}}"]
"""
        for name in projects
    )


def jjb_config(matrix: Matrix = FULL) -> str:
    projects, scenarios, suites = matrix.names()
    head = """
- job-template:
    name: "{name}-{installer}-{scenario}-{suite}"
    node: "{installer}-pod"
    wrappers:
      - timeout:
          timeout: 180
    builders:
      - shell: |
          export INSTALLER_TYPE={installer} DEPLOY_SCENARIO={scenario}
          ./deploy.sh {installer} {scenario} && ./test.sh {suite}
"""
    return head + "".join(
        f"""
- project:
    name: {name}
    installer: {INSTALLERS}
    scenario: {scenarios}
    suite: {suites}
    jobs:
      - "{{name}}-{{installer}}-{{scenario}}-{{suite}}"
"""
        for name in projects
    )


# -- the peer's virtualenv -------------------------------------------------------------


def jjb_venv(path: Path) -> Path:
    """`jenkins-jobs` of a venv holding JJB; the venv is made and JJB installed if missing."""
    command = path / "bin" / "jenkins-jobs"
    if command.exists():
        return command
    print(f"installing {JJB_REQUIREMENT} into {path} ...", file=sys.stderr)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Made by the bench's interpreter: a venv made from a venv is based on the same Python.
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, JJB_REQUIREMENT], check=True)
    return command


def installed_version(venv: Path, package: str) -> str:
    script = f"import importlib.metadata as m; print(m.version({package!r}))"
    return subprocess.run(
        [str(venv / "bin" / "python"), "-c", script], capture_output=True, text=True, check=True
    ).stdout.strip()


# -- measuring children ----------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    wall: float
    cpu: float
    rss_mib: float


def measured(command: Sequence[str], errors: Path) -> Sample:
    """Run `command`, output discarded; its wall and CPU time and its own peak RSS."""
    with errors.open("wb") as stderr:
        began = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - began
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    if process.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{errors.read_text()[-2000:]}")
    # ru_maxrss is in KiB on Linux.
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


@dataclass(frozen=True)
class Command:
    label: str
    argv: list[str]


@dataclass(frozen=True)
class Figures:
    wall: float
    cpu: float
    rss_mib: float


def interleaved(commands: list[Command], rounds: int, errors: Path) -> dict[str, Figures]:
    """Each round runs every command once, the order turned by one each round, so that a
    busy spell of the machine falls on all of them alike."""
    samples: dict[str, list[Sample]] = {c.label: [] for c in commands}
    for round_number in range(rounds):
        turn = round_number % len(commands)
        for command in commands[turn:] + commands[:turn]:
            samples[command.label].append(measured(command.argv, errors))
    return {
        label: Figures(
            statistics.median(s.wall for s in runs),
            statistics.median(s.cpu for s in runs),
            max(s.rss_mib for s in runs),
        )
        for label, runs in samples.items()
    }


# -- the run ---------------------------------------------------------------------------


def prepare(root: Path, matrix: Matrix, jjb: Path) -> tuple[Path, Path]:
    """Write both configurations and check that each tool makes every job from them."""
    (root / "cc").mkdir()
    (root / "cc" / "jobs.yaml").write_text(crosscheck_config(matrix))
    (root / "jjb.yaml").write_text(jjb_config(matrix))
    result = load_config([root / "cc"])
    assert result.config is not None, [str(e) for e in result.errors]
    assert len(result.config.jobs) == matrix.jobs
    shown = subprocess.run(
        [sys.executable, "-m", "crosscheck", "config", "show", "--format", "json", "cc"],
        cwd=root,
        capture_output=True,
        check=True,
    )
    assert sum("job" in element for element in json.loads(shown.stdout)) == matrix.jobs
    out = root / "xml"
    subprocess.run(
        [str(jjb), "test", "-o", str(out), str(root / "jjb.yaml")],
        check=True,
        capture_output=True,
    )
    assert len(list(out.iterdir())) == matrix.jobs
    return root / "cc", out


def commands(jjb: Path, config: Path, jjb_yaml: Path, out: Path) -> list[Command]:
    crosscheck = [sys.executable, "-m", "crosscheck", "config"]
    return [
        Command("jenkins-jobs test", [str(jjb), "test", str(jjb_yaml)]),
        Command("jenkins-jobs test -o DIR", [str(jjb), "test", "-o", str(out), str(jjb_yaml)]),
        Command("jenkins-jobs list -p (names)", [str(jjb), "list", "-p", str(jjb_yaml)]),
        Command("crosscheck config check", [*crosscheck, "check", str(config)]),
        Command("crosscheck config show", [*crosscheck, "show", str(config)]),
        Command(
            "crosscheck config show --format json",
            [*crosscheck, "show", "--format", "json", str(config)],
        ),
    ]


def in_process(config: Path, rounds: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(rounds):
        began, cpu = time.perf_counter(), time.process_time()
        load_config([config])
        walls.append(time.perf_counter() - began)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], check=False, cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return head + (" + uncommitted changes" if dirty else "")


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


@dataclass(frozen=True)
class Run:
    matrix: Matrix
    rounds: int
    figures: dict[str, Figures]
    #: load_config() in this process: median wall and CPU time.
    loading: tuple[float, float]
    peer_venv: Path
    #: The load average before and after.
    loads: tuple[str, str]
    #: How crosscheck's modules were readied (bench/bytecode.py).
    compiled: str


def main(matrix: Matrix, rounds: int, peer_venv: Path) -> None:
    jjb = jjb_venv(peer_venv)
    compiled = byte_compiled()
    with tempfile.TemporaryDirectory() as root_name:
        root = Path(root_name)
        config, out = prepare(root, matrix, jjb)
        load_before = load()
        figures = interleaved(
            commands(jjb, config, root / "jjb.yaml", out), rounds, root / "errors.txt"
        )
        loading = in_process(config, rounds)
        load_after = load()
    report(Run(matrix, rounds, figures, loading, peer_venv, (load_before, load_after), compiled))


def report(run: Run) -> None:
    matrix, rounds, figures, loads = run.matrix, run.rounds, run.figures, run.loads
    peer_venv = run.peer_venv
    peer = figures["jenkins-jobs test"]
    version = installed_version(peer_venv, "jenkins-job-builder")
    print(
        f"{matrix.jobs:,} jobs from templates ({matrix.projects} projects x "
        f"{len(INSTALLERS)} installers x {matrix.scenarios} scenarios x {matrix.suites} "
        f"suites), medians of {rounds} interleaved rounds"
    )
    print(
        f"commit {commit()}; Python {platform.python_version()}; Jenkins Job Builder "
        f"{version} ({peer_venv}); {os.cpu_count()} CPUs"
    )
    print(f"load average (1, 5, 15 min): {loads[0]} before, {loads[1]} after")
    print(f"{run.compiled}; JJB's by pip")
    if matrix != FULL:
        print(f"(the goals are for {FULL.jobs:,} jobs: start-up weighs more in fewer)")
    print()
    print(f"  {'command':<38}{'wall':>9}{'CPU':>9}{'peak RSS':>12}   vs jenkins-jobs test")
    goals = {
        "crosscheck config check": CHECK_GOAL,
        "crosscheck config show": SHOW_GOAL,
        "crosscheck config show --format json": SHOW_GOAL,
    }
    for label, f in figures.items():
        line = f"  {label:<38}{f.wall:7.2f} s{f.cpu:7.2f} s{f.rss_mib:8.1f} MiB"
        if label in goals:
            goal = goals[label]
            wall_ratio, cpu_ratio = peer.wall / f.wall, peer.cpu / f.cpu
            met = "met" if wall_ratio >= goal else "NOT met"
            line += (
                f"   {wall_ratio:5.1f}x faster (CPU {cpu_ratio:4.1f}x); goal >= {goal:g}x: {met}"
            )
        elif label != "jenkins-jobs test":
            line += "   reference"
        else:
            line += "   the peer"
        print(line)
    wall, cpu = run.loading
    print(
        f"  {'load_config() in process':<38}{wall:7.2f} s{cpu:7.2f} s{'':>12}   "
        f"{peer.wall / wall:5.1f}x faster"
    )
    largest = max(figures[label].rss_mib for label in goals)
    met = "met" if largest <= peer.rss_mib else "NOT met"
    print(
        f"peak RSS: crosscheck's largest {largest:.1f} MiB, jenkins-jobs test's "
        f"{peer.rss_mib:.1f} MiB; goal <= JJB's: {met}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--projects", type=int, default=FULL.projects)
    parser.add_argument("--scenarios", type=int, default=FULL.scenarios)
    parser.add_argument("--suites", type=int, default=FULL.suites)
    parser.add_argument(
        "--peer-venv",
        type=Path,
        default=DEFAULT_PEER_VENV,
        help=f"virtualenv holding JJB, made when missing [default: {DEFAULT_PEER_VENV}]",
    )
    arguments = parser.parse_args()
    main(
        Matrix(arguments.projects, arguments.scenarios, arguments.suites),
        arguments.rounds,
        arguments.peer_venv,
    )
