"""An attacker's change against a real `crosscheck serve` on its defaults, building on
this host's own slots: its build tries to plant the git mirror's `master` (which the
next change's build on this host would merge onto, running the attacker's script as
that change's test), to read the CI account's password and to find serve's process.
Confined by bubblewrap (the default where it works; scripts/setup installs it), each
try fails, the innocent change builds on the real master, and both get their vote."""

from __future__ import annotations

import uuid
from pathlib import Path

from crosscheck.sandbox.gerrit import SandboxRepo, SandboxState

from .ci_loop_harness import (
    CHECK_PIPELINE,
    PROJECT,
    ServeProcess,
    ci_vote,
    serving,
    wait_reports,
)

#: What many CIs do: run the script the change carries.
CONFIG = f"""\
- label:
    name: local
{CHECK_PIPELINE}- job:
    name: hello
    node: local
    run:
      - 'if [ -f ci.sh ]; then bash ci.sh; else echo "no ci.sh: the change as it is"; fi'
- project:
    name: {PROJECT}
    check:
      jobs: [hello]
"""


def attack(password_file: Path) -> str:
    return f"""\
git push -f origin HEAD:refs/heads/master && echo "PLANTED master" || echo "push refused"
cat {password_file} && echo "READ the password" || echo "no password"
grep -l CROSSCHECK_STATE_DIR /proc/*/environ 2>/dev/null && echo "SAW serve" || echo "no serve"
echo "processes: $(ls /proc | grep -c '^[0-9]')"
true
"""


def console_of(serve: ServeProcess, number: int) -> str:
    (console,) = (serve.state / "logs").glob(f"*/{number}/*/check/hello/*/console.log")
    return console.read_text()


async def test_an_attackers_build_cannot_reach_the_next_build_or_serves_secrets(
    sandbox_dir: Path, tmp_path: Path
) -> None:
    sandbox = SandboxState.load(sandbox_dir)
    async with serving(sandbox, tmp_path, CONFIG) as serve:
        assert "confined by bubblewrap" in serve.log.read_text(), serve.log_tail()
        work = await SandboxRepo(sandbox, PROJECT, tmp_path / "repo").open()
        tag = uuid.uuid4().hex[:8]
        files = {"ci.sh": attack(sandbox.ci_password_file), f"attack-{tag}": "1\n"}
        attacker = await work.push_change(files, "A helpful cleanup")
        assert ci_vote(await wait_reports(sandbox, attacker, serve)) == 1
        said = console_of(serve, attacker.number)
        innocent = await work.push_change({f"fix-{tag}": "1\n"}, "An honest fix")
        assert ci_vote(await wait_reports(sandbox, innocent, serve)) == 1
        built = console_of(serve, innocent.number)
    assert "| push refused" in said, said
    assert "| PLANTED" not in said
    assert "| no password" in said
    assert sandbox.ci_password_file.read_text().strip() not in said
    assert "| no serve" in said
    assert "| no ci.sh: the change as it is" in built, built
