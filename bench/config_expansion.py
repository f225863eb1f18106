"""4,000 jobs from templates: crosscheck against Jenkins Job Builder, side by side.

Both tools get the same definitions: 10 projects, each expanding one job template
over 4 installers x 10 scenarios x 10 test suites, with a node, a shell step, an
environment and a timeout. Timed as whole commands (interpreter start included):
- `jenkins-jobs test -o DIR` (expands and writes one XML per job);
- `crosscheck config check` (expands, resolves and validates everything);
- `crosscheck config show` (the same, then prints every job as YAML);
and in-process `load_config()` alone. Prints medians and the ratios.

    pip install -e '.[bench]'
    python -m bench.config_expansion [--rounds 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from crosscheck.config import load_config

PROJECTS = [f"proj{i:02d}" for i in range(10)]
INSTALLERS = ["apex", "fuel", "compass", "joid"]
SCENARIOS = [f"os-sc{i}-ha" for i in range(10)]
SUITES = [f"suite{i}" for i in range(10)]
EXPECTED_JOBS = len(PROJECTS) * len(INSTALLERS) * len(SCENARIOS) * len(SUITES)


def crosscheck_config() -> str:
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
    projects = "".join(
        f"""
- project:
    name: {name}
    parameters:
      installer: {INSTALLERS}
      scenario: {SCENARIOS}
      suite: {SUITES}
    check:
      jobs: ["{{name}}-{{installer}}-{{scenario}}-{{suite}}"]
"""
        for name in PROJECTS
    )
    return head + projects


def jjb_config() -> str:
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
    projects = "".join(
        f"""
- project:
    name: {name}
    installer: {INSTALLERS}
    scenario: {SCENARIOS}
    suite: {SUITES}
    jobs:
      - "{{name}}-{{installer}}-{{scenario}}-{{suite}}"
"""
        for name in PROJECTS
    )
    return head + projects


def timed(command: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - began


def median_of(rounds: int, command: list[str]) -> float:
    return statistics.median(timed(command) for _ in range(rounds))


def main(rounds: int) -> None:
    jjb = shutil.which("jenkins-jobs") or str(Path(sys.executable).parent / "jenkins-jobs")
    if not Path(jjb).exists():
        sys.exit("jenkins-jobs not found: pip install -e '.[bench]'")
    crosscheck = [sys.executable, "-m", "crosscheck"]
    with tempfile.TemporaryDirectory() as root_name:
        root = Path(root_name)
        (root / "cc").mkdir()
        (root / "cc" / "jobs.yaml").write_text(crosscheck_config())
        (root / "jjb.yaml").write_text(jjb_config())
        result = load_config([root / "cc"])
        assert result.config is not None, [str(e) for e in result.errors]
        assert len(result.config.jobs) == EXPECTED_JOBS
        out = root / "xml"
        subprocess.run(
            [jjb, "test", "-o", str(out), str(root / "jjb.yaml")],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert len(list(out.iterdir())) == EXPECTED_JOBS

        in_process = statistics.median(_time_load(root / "cc") for _ in range(rounds))
        check = median_of(rounds, [*crosscheck, "config", "check", str(root / "cc")])
        show = median_of(rounds, [*crosscheck, "config", "show", str(root / "cc")])
        jjb_time = median_of(rounds, [jjb, "test", "-o", str(out), str(root / "jjb.yaml")])

    print(f"{EXPECTED_JOBS} jobs from templates, medians of {rounds} runs:")
    print(f"  jenkins-jobs test -o DIR      {jjb_time:7.2f} s")
    print(f"  crosscheck config check       {check:7.2f} s   {jjb_time / check:5.1f}x faster")
    print(f"  crosscheck config show        {show:7.2f} s   {jjb_time / show:5.1f}x faster")
    print(
        f"  load_config() in process      {in_process:7.2f} s   "
        f"{jjb_time / in_process:5.1f}x faster"
    )


def _time_load(path: Path) -> float:
    began = time.perf_counter()
    load_config([path])
    return time.perf_counter() - began


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    main(parser.parse_args().rounds)
