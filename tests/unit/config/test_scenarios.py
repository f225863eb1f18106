"""The `scenario` element: a full valid example, each error where it is written, `config show`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from crosscheck.cli import main
from crosscheck.config import LoadResult
from crosscheck.model.promotion import ApprovalRule, JobCriterion, PublishRule
from crosscheck.model.scenario import RefKind

from .helpers import BASE, errors, load, warnings, write

SHA = "0123456789abcdef0123456789abcdef01234567"
JOBS = """
- job: {name: unit, node: lab, run: [make]}
- job: {name: deploy-virtual, node: lab, run: [make]}
- project: {name: openstack/nova, check: {jobs: [unit, deploy-virtual]}}
"""
VALID = (
    JOBS
    + f"""
- scenario:
    name: os-nosdn-nofeature
    description: OpenStack without SDN
    components:
      - {{name: nova, connection: gerrit, project: openstack/nova, branch: master}}
      - {{name: apex, connection: gerrit, project: opnfv/apex, tag: 9.1.0}}
      - {{name: fdio, git: https://git.fd.io/vpp, sha: {SHA}}}
    levels:
      - name: daily
        below: verified
        jobs: deploy-virtual
        soak: 1h
        max_age: 2d
      - {{name: verified, jobs: [unit, {{any: [tempest-full, tempest-smoke]}}],
          accounts: [crosscheck, other-ci]}}
      - {{name: weekly, below: daily, jobs: [deploy-virtual], approvals: release-manager,
          publish: {{tag: true, webhook: "https://hooks.example/w"}}}}
    channels:
      - {{name: developer, from: daily}}
      - {{name: stable, from: weekly}}
"""
)


def own_warnings(result: LoadResult) -> list[str]:
    """Warnings about the test's file: the base's pipeline has its own."""
    return [w for w in warnings(result) if w.startswith("test.yaml")]


def scenario(levels: str, components: str = "", channels: str = "") -> str:
    """A scenario around the given YAML lines (each indented as under `levels:`)."""
    components = components or (
        "      - {name: nova, connection: gerrit, project: openstack/nova, branch: master}\n"
    )
    text = f"- scenario:\n    name: s\n    components:\n{components}    levels:\n{levels}"
    return text + (f"    channels:\n{channels}" if channels else "")


def test_a_full_scenario_is_built_into_the_model(tmp_path: Path) -> None:
    result = load(tmp_path, VALID)
    assert errors(result) == []
    assert own_warnings(result) == []
    assert result.config is not None
    built = result.config.scenarios["os-nosdn-nofeature"]
    assert [(c.name, c.ref_kind, c.ref) for c in built.components] == [
        ("nova", RefKind.BRANCH, "master"),
        ("apex", RefKind.TAG, "9.1.0"),
        ("fdio", RefKind.SHA, SHA),
    ]
    assert built.component("fdio").git_url == "https://git.fd.io/vpp"
    assert built.component("nova").connection == "gerrit"
    # Written in any order, the levels are kept from the first up.
    assert [(level.name, level.below) for level in built.levels] == [
        ("verified", None),
        ("daily", "verified"),
        ("weekly", "daily"),
    ]
    verified, daily, weekly = built.levels
    assert verified.jobs == (
        JobCriterion(("unit",)),
        JobCriterion(("tempest-full", "tempest-smoke")),
    )
    assert verified.accounts == ("crosscheck", "other-ci")
    assert daily.accounts == ("crosscheck",)  # the CI's own results account by default
    assert (daily.soak, daily.max_age) == (timedelta(hours=1), timedelta(days=2))
    assert weekly.approvals == ApprovalRule(("release-manager",), 1)
    assert weekly.publish == PublishRule(tag=True, webhook="https://hooks.example/w")
    assert daily.publish is None
    assert [(c.name, c.level) for c in built.channels] == [
        ("developer", "daily"),
        ("stable", "weekly"),
    ]


ERRORS = {
    "unknown connection": (
        scenario(
            "      - {name: verified, jobs: [unit]}\n",
            "      - {name: nova, connection: gerit, project: openstack/nova, branch: master}\n",
        ),
        "test.yaml:4:34: error: scenario 's': component 'nova' is on unknown connection "
        "'gerit' — did you mean 'gerrit'?",
    ),
    "branch and sha": (
        scenario(
            "      - {name: verified, jobs: [unit]}\n",
            "      - {name: nova, connection: gerrit, project: openstack/nova, branch: master,\n"
            f"         sha: {SHA}}}\n",
        ),
        "test.yaml:4:9: error: 'components.0' in scenario 's': a component is at exactly one "
        "of branch (its tip), tag or sha; it gives branch and sha",
    ),
    "no ref": (
        scenario(
            "      - {name: verified, jobs: [unit]}\n",
            "      - {name: nova, connection: gerrit, project: openstack/nova}\n",
        ),
        "test.yaml:4:9: error: 'components.0' in scenario 's': a component is at exactly one "
        "of branch (its tip), tag or sha; it gives none",
    ),
    "git and connection": (
        scenario(
            "      - {name: verified, jobs: [unit]}\n",
            "      - {name: vpp, git: https://git.fd.io/vpp, connection: gerrit, tag: v1}\n",
        ),
        "test.yaml:4:9: error: 'components.0' in scenario 's': a component is a project on a "
        "connection or a plain git URL: give 'connection' and 'project', or 'git', not both",
    ),
    "bad sha": (
        scenario(
            "      - {name: verified, jobs: [unit]}\n",
            "      - {name: vpp, git: https://git.fd.io/vpp, sha: 0123abc}\n",
        ),
        "test.yaml:4:54: error: 'components.0.sha' in scenario 's': '0123abc' is not a commit "
        "SHA: write the full 40 hexadecimal digits in lower case (`git rev-parse REF` prints "
        "them)",
    ),
    "bad git url": (
        scenario(
            "      - {name: verified, jobs: [unit]}\n",
            "      - {name: vpp, git: git.fd.io/vpp, tag: v1}\n",
        ),
        "test.yaml:4:26: error: 'components.0.git' in scenario 's': 'git.fd.io/vpp' is not a "
        "git URL: write https://HOST/PATH, ssh://HOST/PATH, git://HOST/PATH or USER@HOST:PATH",
    ),
    "empty jobs": (
        scenario("      - {name: verified, jobs: []}\n"),
        "test.yaml:6:32: error: 'levels.0.jobs' in scenario 's': a level needs at least one "
        "job: name the jobs whose results promote a candidate",
    ),
    "bad duration": (
        scenario(
            "      - {name: verified, jobs: [unit]}\n"
            "      - {name: daily, below: verified, jobs: [unit], max_age: 1week}\n"
        ),
        "test.yaml:7:63: error: 'levels.1.max_age' in scenario 's': '1week' is not a period: "
        "use seconds (3600) or '2d', '1d12h', '90m', '45s'",
    ),
    "soak on the first level": (
        scenario("      - {name: verified, jobs: [unit], soak: 1h}\n"),
        "test.yaml:6:9: error: 'levels.0' in scenario 's': 'soak' is the time spent at the "
        "level below, but this level has none: remove 'soak', or name the level below with "
        "'below'",
    ),
    "too few approvers": (
        scenario("      - {name: verified, jobs: [unit], approvals: {by: [rm], count: 2}}\n"),
        "test.yaml:6:51: error: 'levels.0.approvals' in scenario 's': 2 approvals are needed "
        "but 1 account(s) may approve: name more accounts in 'by', or lower 'count'",
    ),
    "unknown below": (
        scenario(
            "      - {name: verified, jobs: [unit]}\n"
            "      - {name: daily, below: verifed, jobs: [unit]}\n"
        ),
        "test.yaml:7:30: error: scenario 's': level 'daily' is above unknown level 'verifed' "
        "— did you mean 'verified'?",
    ),
    "two first levels": (
        scenario("      - {name: verified, jobs: [unit]}\n      - {name: daily, jobs: [unit]}\n"),
        "test.yaml:7:16: error: scenario 's': levels 'verified' and 'daily' both have no "
        "level below: levels form one chain, and only the first has no 'below' — put 'daily' "
        "above another level with 'below'",
    ),
    "fork": (
        scenario(
            "      - {name: verified, jobs: [unit]}\n"
            "      - {name: daily, below: verified, jobs: [unit]}\n"
            "      - {name: nightly, below: verified, jobs: [unit]}\n"
        ),
        "test.yaml:8:32: error: scenario 's': levels 'daily' and 'nightly' are both above "
        "'verified': levels form one chain, each level directly above at most one other — put "
        "'nightly' above 'daily', or above the level 'daily' is below",
    ),
    "cycle": (
        scenario(
            "      - {name: verified, jobs: [unit]}\n"
            "      - {name: daily, below: weekly, jobs: [unit]}\n"
            "      - {name: weekly, below: daily, jobs: [unit]}\n"
        ),
        "test.yaml:7:30: error: scenario 's': levels 'daily', 'weekly' form a cycle through "
        "'below': levels form one chain up from a first level — the first level has no "
        "'below'; each other names the one it sits on",
    ),
    "cycle without a first level": (
        scenario("      - {name: verified, below: verified, jobs: [unit]}\n"),
        "test.yaml:6:33: error: scenario 's': levels 'verified' form a cycle through 'below': "
        "levels form one chain up from a first level — the first level has no 'below'; each "
        "other names the one it sits on",
    ),
    "unknown channel level": (
        scenario(
            "      - {name: verified, jobs: [unit]}\n",
            channels="      - {name: developer, from: verifed}\n",
        ),
        "test.yaml:8:33: error: scenario 's': release channel 'developer' is from unknown "
        "level 'verifed' — did you mean 'verified'?",
    ),
    "misspelt from": (
        scenario(
            "      - {name: verified, jobs: [unit]}\n",
            channels="      - {name: developer, frm: verified}\n",
        ),
        "test.yaml:8:27: error: unknown key 'frm' in scenario 's' — did you mean 'from'?",
    ),
    "publish nothing": (
        scenario("      - {name: verified, jobs: [unit], publish: {tag: false}}\n"),
        "test.yaml:6:49: error: 'levels.0.publish' in scenario 's': 'publish' publishes "
        "nothing: set tag: true, manifest: true or a webhook URL",
    ),
    "publish to a non-web hook": (
        scenario("      - {name: verified, jobs: [unit], publish: {webhook: 'file:///etc'}}\n"),
        "test.yaml:6:59: error: 'levels.0.publish.webhook' in scenario 's': 'file:///etc' is "
        "not an http(s) URL, e.g. https://ci.example.org/hook",
    ),
    "bad snapshot": (
        scenario("      - {name: verified, jobs: [unit]}\n").replace(
            "    name: s\n", "    name: s\n    snapshot: nightly\n"
        ),
        "test.yaml:3:15: error: 'snapshot' in scenario 's': 'nightly' is not a cron "
        "schedule: five fields (minute hour day month weekday, UTC), e.g. '0 2 * * *'",
    ),
    "a job required twice": (
        scenario("      - {name: v, jobs: [unit, lint, unit]}\n"),
        "test.yaml:6:25: error: 'levels.0.jobs' in scenario 's': job unit is required twice "
        "in this level: name it once",
    ),
    "a webhook secret without a webhook": (
        scenario("      - {name: v, jobs: [unit], publish: {tag: true, webhook_secret_env: S}}\n"),
        "test.yaml:6:42: error: 'levels.0.publish' in scenario 's': a webhook secret signs a "
        "webhook: give 'webhook' its URL too",
    ),
    "two webhook secrets": (
        scenario(
            "      - {name: v, jobs: [unit], publish: {webhook: 'https://h.example/x', "
            "webhook_secret_env: S, webhook_secret_file: f}}\n"
        ),
        "test.yaml:6:42: error: 'levels.0.publish' in scenario 's': give webhook_secret_env "
        "or webhook_secret_file, not both",
    ),
    "a password in a git URL": (
        scenario(
            "      - {name: verified, jobs: [unit]}\n",
            components="      - {name: g, git: 'https://bob:S3cret@git.example/x', sha: "
            + "a" * 40
            + "}\n",
        ),
        "test.yaml:4:24: error: 'components.0.git' in scenario 's': a component's git URL "
        "holds a password: the configuration is no place for secrets; give git its "
        "credentials (a credential helper, ~/.netrc, an SSH key) and write the URL without "
        "them",
    ),
    "a scenario name with a slash": (
        scenario("      - {name: verified, jobs: [unit]}\n").replace("name: s\n", "name: a/../b\n"),
        "test.yaml:2:11: error: 'name' in scenario 'a/../b': 'a/../b' cannot name a scenario "
        "or a level: it names directories, URLs and tags, so use letters, digits, '.', '_' "
        "and '-' (no '/'), starting with a letter or digit",
    ),
    "misspelt any": (
        scenario("      - {name: verified, jobs: [{anyy: [a, b]}]}\n"),
        "test.yaml:6:34: error: unknown key 'anyy' in scenario 's' — did you mean 'any'?",
    ),
}


@pytest.mark.parametrize(("text", "expected"), ERRORS.values(), ids=ERRORS.keys())
def test_each_error_is_reported_where_it_is_written(
    tmp_path: Path, text: str, expected: str
) -> None:
    result = load(tmp_path, text, BASE + JOBS)
    assert expected in errors(result)
    assert result.config is None


def test_duplicate_names_point_at_the_second_one(tmp_path: Path) -> None:
    text = scenario(
        "      - {name: verified, jobs: [unit]}\n"
        "      - {name: verified, below: verified, jobs: [unit]}\n",
        "      - {name: nova, connection: gerrit, project: openstack/nova, branch: master}\n"
        "      - {name: nova, connection: gerrit, project: openstack/nova, tag: '1.0'}\n",
        "      - {name: dev, from: verified}\n      - {name: dev, from: verified}\n",
    )
    again = "- scenario: {name: s, components: [{name: x, git: 'git@host:x', tag: v1}],\n"
    result = load(tmp_path, text + again + "    levels: [{name: v, jobs: unit}]}\n")
    lines = [e.replace(str(tmp_path), "") for e in errors(result)]
    hint = " — rename one of them, or remove the duplicate"
    assert lines == [
        "test.yaml:5:16: error: scenario 's': component 'nova' is defined twice (first at "
        "/test.yaml:4:16)" + hint,
        "test.yaml:8:16: error: scenario 's': level 'verified' is defined twice (first at "
        "/test.yaml:7:16)" + hint,
        "test.yaml:11:16: error: scenario 's': release channel 'dev' is defined twice (first "
        "at /test.yaml:10:16)" + hint,
        "test.yaml:12:3: error: scenario 's' is defined twice (first at /test.yaml:1:3)" + hint,
    ]


def test_a_broken_component_does_not_hide_a_broken_level_chain_or_channel(
    tmp_path: Path,
) -> None:
    text = scenario(
        "      - {name: verified, below: weekly, jobs: [unit]}\n"
        "      - {name: weekly, below: verified, jobs: [unit]}\n",
        "      - {name: nova, connection: gerit, project: openstack/nova, branch: master}\n",
        "      - {name: stable, from: weekley}\n",
    )
    found = errors(load(tmp_path, text, BASE + JOBS))
    assert [line.split(": error: ")[0] for line in found] == [
        "test.yaml:4:34",  # the component's connection
        "test.yaml:6:33",  # the cycle, at the first level's 'below'
        "test.yaml:9:30",  # the channel's level
    ]
    assert "form a cycle through 'below'" in found[1]
    assert "did you mean 'weekly'?" in found[2]


def test_a_level_nothing_could_satisfy_is_a_warning(tmp_path: Path) -> None:
    text = scenario(
        "      - {name: verified, jobs: [unit, {any: [tempest-full, unit]}]}\n"
        "      - {name: daily, below: verified, jobs: [deploy-baremetal]}\n"
        "      - {name: weekly, below: daily, jobs: [functest], accounts: [crosscheck, opnfv]}\n"
    )
    result = load(tmp_path, text, BASE + JOBS)
    assert errors(result) == []
    assert own_warnings(result) == [
        "test.yaml:7:16: warning: scenario 's': level 'daily' needs job 'deploy-baremetal', "
        "which is no crosscheck job, and counts only the results of 'crosscheck': nothing "
        "could ever satisfy it — define the job, or list the CI account that reports it in "
        "'accounts'"
    ]
    assert result.config is not None


def test_config_show_prints_scenarios_that_read_back(tmp_path: Path) -> None:
    write(tmp_path, {"base.yaml": BASE, "test.yaml": VALID})
    outcome = CliRunner().invoke(main, ["config", "show", str(tmp_path)])
    assert outcome.exit_code == 0, outcome.output
    shown = [e["scenario"] for e in yaml.safe_load(outcome.output) if "scenario" in e]
    assert shown == [
        {
            "name": "os-nosdn-nofeature",
            "description": "OpenStack without SDN",
            "components": [
                {
                    "name": "nova",
                    "connection": "gerrit",
                    "project": "openstack/nova",
                    "branch": "master",
                },
                {"name": "apex", "connection": "gerrit", "project": "opnfv/apex", "tag": "9.1.0"},
                {"name": "fdio", "git": "https://git.fd.io/vpp", "sha": SHA},
            ],
            "levels": [
                {
                    "name": "verified",
                    "jobs": ["unit", {"any": ["tempest-full", "tempest-smoke"]}],
                    "accounts": ["crosscheck", "other-ci"],
                },
                {
                    "name": "daily",
                    "below": "verified",
                    "jobs": ["deploy-virtual"],
                    "accounts": ["crosscheck"],
                    "soak": 3600,
                    "max_age": 172800,
                },
                {
                    "name": "weekly",
                    "below": "daily",
                    "jobs": ["deploy-virtual"],
                    "accounts": ["crosscheck"],
                    "approvals": {"by": ["release-manager"], "count": 1},
                    "publish": {"tag": True, "webhook": "https://hooks.example/w"},
                },
            ],
            "channels": [
                {"name": "developer", "from": "daily"},
                {"name": "stable", "from": "weekly"},
            ],
        }
    ]
    # What show prints is itself a valid configuration.
    again = load(tmp_path / "again", yaml.safe_dump([{"scenario": s} for s in shown]), BASE + JOBS)
    assert errors(again) == []
