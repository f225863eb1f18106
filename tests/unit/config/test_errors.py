"""Every kind of configuration error: its exact message and where it points."""

from __future__ import annotations

from pathlib import Path

from crosscheck.config import load_config

from .helpers import errors, load, write


def test_yaml_syntax_error_points_at_the_problem(tmp_path: Path) -> None:
    result = load(tmp_path, "- job:\n    name: [unclosed\n")
    assert errors(result) == [
        "test.yaml:3:1: error: YAML syntax: did not find expected ',' or ']' "
        "(while parsing a flow sequence at line 2, column 11)"
    ]


def test_duplicate_keys_are_errors_not_silently_dropped(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job:
            name: a
            run: [make]
            node: lab
            run: [make test]
        """,
    )
    assert (
        "test.yaml:5:5: error: duplicate key 'run' (first at line 3) — YAML keeps only one "
        "of them: remove or rename the other" in errors(result)
    )


def test_a_file_must_be_a_list(tmp_path: Path) -> None:
    result = load(tmp_path, "job:\n  name: a\n")
    assert errors(result) == [
        "test.yaml:1:1: error: a configuration file is a list of elements — start each "
        "element with '- ', e.g. '- job:' or '- pipeline:'"
    ]


def test_unknown_element_suggests_the_closest(tmp_path: Path) -> None:
    result = load(tmp_path, "- jobb:\n    name: a\n")
    assert errors(result) == ["test.yaml:1:3: error: unknown element 'jobb' — did you mean 'job'?"]


def test_an_item_with_two_elements_is_refused(tmp_path: Path) -> None:
    result = load(tmp_path, "- job: {name: a}\n  label: {name: b}\n")
    assert errors(result)[0].startswith(
        "test.yaml:1:3: error: each list item must be one element such as '- job:'"
    )


def test_unknown_key_suggests_the_closest(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - pipeline:
            name: gate
            manager: independent
            tigger:
              gerrit: [{event: patchset-created}]
        """,
    )
    assert (
        "test.yaml:4:5: error: unknown key 'tigger' in pipeline 'gate' — did you mean "
        "'trigger'?" in errors(result)
    )


def test_unknown_key_deep_inside_suggests_from_that_level(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - pipeline:
            name: gate
            manager: independent
            trigger:
              gerrit: [{event: patchset-created}]
            success:
              gerrit: {lables: {Verified: 1}}
        """,
    )
    assert errors(result) == [
        "test.yaml:7:16: error: unknown key 'lables' in pipeline 'gate' — did you mean 'labels'?"
    ]


def test_missing_required_key(tmp_path: Path) -> None:
    result = load(tmp_path, "- job:\n    run: [make]\n")
    assert errors(result) == ["test.yaml:2:5: error: missing required key 'name' in job"]


def test_wrong_type_names_the_key_and_the_element(tmp_path: Path) -> None:
    result = load(
        tmp_path, "- job:\n    name: a\n    node: lab\n    run: [make]\n    voting: maybe\n"
    )
    assert errors(result) == [
        "test.yaml:5:13: error: 'voting' in job 'a': Input should be a valid boolean, "
        "unable to interpret input — write true or false"
    ]


def test_the_new_pipeline_and_connection_keys_say_how_to_fix_a_wrong_type(
    tmp_path: Path,
) -> None:
    result = load(
        tmp_path,
        "- connection: {name: g, host: h, user: ci, http_url: 'http://h', "
        "ignore_accounts: [42], ignore_own_events: maybe}\n"
        "- pipeline: {name: check, manager: independent, current_patchset_only: maybe, "
        "trigger: {g: {event: patchset-created}}}\n",
    )
    found = errors(result)
    assert any("'ignore_accounts.0'" in e and "quote it" in e for e in found), found
    assert any("'ignore_own_events'" in e and "write true or false" in e for e in found), found
    assert any("'current_patchset_only'" in e and "write true or false" in e for e in found), found


def test_bad_duration(tmp_path: Path) -> None:
    result = load(tmp_path, "- job: {name: a, node: lab, run: [make], timeout: 2 hours}\n")
    assert errors(result) == [
        "test.yaml:1:51: error: 'timeout' in job 'a': '2 hours' is not a duration: use "
        "seconds (3600) or '1h30m', '90m', '45s'"
    ]


def test_bad_regex_in_a_trigger(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - pipeline:
            name: gate
            manager: independent
            trigger:
              gerrit:
                - event: patchset-created
                  branch: "stable/(2024"
        """,
    )
    assert errors(result) == [
        "test.yaml:7:19: error: 'branch' in trigger 1 on 'gerrit' of pipeline 'gate': invalid "
        "regular expression 'stable/(2024': missing ), unterminated subpattern at position 7"
    ]


def test_unknown_event_type(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - pipeline:
            name: gate
            manager: independent
            trigger:
              gerrit:
                - event: patchset-uploaded
        """,
    )
    assert errors(result) == [
        "test.yaml:6:18: error: 'event.0' in trigger 1 on 'gerrit' of pipeline 'gate': unknown "
        "Gerrit event 'patchset-uploaded'; did you mean 'patchset-created'? (one of: "
        "change-abandoned, change-deleted, change-merged, change-restored, comment-added, "
        "hashtags-changed, patchset-created, private-state-changed, ref-updated, "
        "reviewer-added, topic-changed, wip-state-changed)"
    ]


def test_bad_cron_schedule(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - pipeline:
            name: nightly
            manager: supercedent
            trigger:
              timer:
                - time: "every night"
        """,
    )
    assert errors(result) == [
        "test.yaml:6:17: error: 'time' in trigger 1 on 'timer' of pipeline 'nightly': "
        "'every night' is not a cron schedule: five fields (minute hour day month "
        "weekday, UTC), e.g. '0 2 * * *'"
    ]


def test_trigger_on_unknown_connection(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - pipeline:
            name: gate
            manager: independent
            trigger:
              gerit: [{event: patchset-created}]
        """,
    )
    assert errors(result) == [
        "test.yaml:5:7: error: pipeline 'gate' triggers on unknown connection 'gerit' — "
        "did you mean 'gerrit'?"
    ]


def test_reporter_on_unknown_connection(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - pipeline:
            name: gate
            manager: independent
            trigger:
              gerrit: [{event: patchset-created}]
            failure:
              upstream: {labels: {Verified: -1}}
        """,
    )
    assert errors(result) == [
        "test.yaml:7:7: error: pipeline 'gate' reports failure to unknown connection "
        "'upstream' — connections: gerrit"
    ]


def test_inline_secrets_are_refused(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - connection:
            name: other
            host: h
            http_url: https://h/
            user: ci
            http_password: hunter2
        """,
    )
    assert errors(result) == [
        "test.yaml:6:20: error: 'http_password' in connection 'other': http_password must not "
        "be written in the "
        "configuration: name a file with http_password_file or an environment variable with "
        "http_password_env"
    ]
    assert "hunter2" not in errors(result)[0]


def test_duplicate_names_point_at_both(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job: {name: a, node: lab, run: [make]}
        - job: {name: a, node: lab, run: [make test]}
        """,
    )
    assert errors(result) == [
        f"test.yaml:2:3: error: job 'a' is defined twice (first at {tmp_path}/test.yaml:1:3) — "
        "rename one of them, or remove the duplicate"
    ]


def test_unknown_parent_suggests(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job: {name: base, abstract: true, node: lab}
        - job: {name: child, parent: bsae, run: [make]}
        """,
    )
    assert errors(result) == [
        "test.yaml:2:30: error: job 'child' has unknown parent 'bsae' — did you mean 'base'?"
    ]


def test_inheritance_cycle_is_named(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job: {name: a, parent: c, node: lab, run: [x]}
        - job: {name: b, parent: a, node: lab, run: [x]}
        - job: {name: c, parent: b, node: lab, run: [x]}
        """,
    )
    assert errors(result) == [
        "test.yaml:1:26: error: jobs inherit from each other in a cycle: a -> c -> b -> a — "
        "break the cycle by changing one 'parent'"
    ]


def test_unknown_node_label(tmp_path: Path) -> None:
    result = load(tmp_path, "- job: {name: a, node: labb, run: [make]}\n")
    assert errors(result) == [
        "test.yaml:1:24: error: job 'a' runs on unknown node label 'labb' — did you mean 'lab'?"
    ]


def test_a_concrete_job_needs_run_steps(tmp_path: Path) -> None:
    result = load(tmp_path, "- job: {name: a, node: lab}\n")
    assert errors(result) == [
        "test.yaml:1:3: error: job 'a' has no run steps — add 'run:' (shell lines, or "
        "{script: path}), or set 'abstract: true' for a job that is only a parent"
    ]


def test_a_run_step_mapping_needs_exactly_one_kind(tmp_path: Path) -> None:
    result = load(tmp_path, "- job: {name: a, node: lab, run: [{shell: x, script: y}]}\n")
    assert errors(result) == [
        "test.yaml:1:35: error: 'run.0' in job 'a': a run step is a shell line, or a mapping "
        "with exactly one of 'shell' or 'script'"
    ]


def test_required_project_branch_or_version(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job:
            name: a
            node: lab
            run: [make]
            required_projects:
              - {name: openstack/nova, branch: master, version: 29.0.0}
        """,
    )
    assert errors(result) == [
        "test.yaml:6:9: error: 'required_projects.0' in job 'a': give a branch or a pinned "
        "version, not both"
    ]


def test_project_with_unknown_pipeline_suggests(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job: {name: a, node: lab, run: [make]}
        - project:
            name: openstack/cinder
            chekc:
              jobs: [a]
        """,
    )
    assert (
        "test.yaml:4:5: error: unknown key 'chekc' in project 'openstack/cinder': it is "
        "neither a project key nor a pipeline — did you mean 'check'?" in errors(result)
    )


def test_project_with_unknown_job_suggests(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job: {name: tempest-full, node: lab, run: [make]}
        - project:
            name: openstack/cinder
            check:
              jobs: [tempest-ful]
        """,
    )
    assert errors(result) == [
        "test.yaml:5:14: error: project 'openstack/cinder' runs unknown job 'tempest-ful' — "
        "did you mean 'tempest-full'?"
    ]


def test_project_override_with_unknown_key(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job: {name: a, node: lab, run: [make]}
        - project:
            name: p
            check:
              jobs:
                - a: {votng: false}
        """,
    )
    assert errors(result) == [
        "test.yaml:6:15: error: unknown key 'votng' in the overrides of job 'a' for project 'p' "
        "— did you mean 'voting'?"
    ]


def test_project_runs_an_abstract_job(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job: {name: base, abstract: true, node: lab}
        - project:
            name: p
            check:
              jobs: [base]
        """,
    )
    assert errors(result) == [
        "test.yaml:5:14: error: project 'p' runs abstract job 'base' — run a job that inherits "
        "from it instead"
    ]


def test_project_with_unknown_template(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - project-template:
            name: drivers
            check: {jobs: []}
        - project:
            name: p
            templates: [driver]
        """,
    )
    assert (
        "test.yaml:6:17: error: project 'p' uses unknown project-template 'driver' — "
        "did you mean 'drivers'?" in errors(result)
    )


def test_bad_project_regex(tmp_path: Path) -> None:
    result = load(tmp_path, "- project:\n    name: ^openstack/(nova\n")
    assert errors(result) == [
        "test.yaml:2:11: error: project name '^openstack/(nova' is not a valid regular "
        "expression: missing ), unterminated subpattern at position 11"
    ]


def test_every_error_is_reported_not_only_the_first(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job: {name: a, node: nolabel, run: [make]}
        - job: {name: b, parent: nobody, run: [make]}
        - jobb: {name: c}
        - pipeline: {name: p, manager: eager, trigger: {gerrit: [{event: patchset-created}]}}
        """,
    )
    assert len(errors(result)) == 4
    assert result.config is None


def test_missing_paths_are_reported(tmp_path: Path) -> None:
    result = load_config([tmp_path / "nope.yaml", tmp_path / "empty"])
    (tmp_path / "empty").mkdir()
    result = load_config([tmp_path / "nope.yaml", tmp_path / "empty"])
    assert [str(e) for e in result.errors] == [
        f"error: {tmp_path}/empty: no .yaml or .yml files in this directory",
        f"error: {tmp_path}/nope.yaml: no such file or directory",
    ]


def test_a_directory_is_merged_in_sorted_order(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "b/jobs.yaml": "- job: {name: a, node: lab, run: [make]}\n",
            "a/base.yaml": "- label: {name: lab}\n",
            ".hidden/x.yaml": "- nonsense\n",
            "notes.txt": "not yaml",
        },
    )
    result = load_config([tmp_path])
    assert [p.relative_to(tmp_path).as_posix() for p in result.files] == [
        "a/base.yaml",
        "b/jobs.yaml",
    ]
    assert result.errors == []


def test_unknown_manager_lists_the_choices(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        "- pipeline: {name: p, manager: eager, trigger: {gerrit: [{event: patchset-created}]}}\n",
    )
    assert errors(result) == [
        "test.yaml:1:32: error: 'manager' in pipeline 'p': Input should be 'independent' or "
        "'supercedent'"
    ]


def test_a_password_from_two_places_is_refused(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        "- connection: {name: o, host: h, user: u, http_url: 'https://h/', "
        "http_password_env: A, http_password_file: b}\n",
    )
    assert errors(result) == [
        "test.yaml:1:15: error: in connection 'o': give http_password_env or "
        "http_password_file, not both"
    ]


def test_a_connection_cannot_be_named_timer(tmp_path: Path) -> None:
    result = load(
        tmp_path, "- connection: {name: timer, host: h, user: u, http_url: 'https://h/'}\n"
    )
    assert errors(result) == [
        "test.yaml:1:22: error: 'timer' is the name of the built-in timer trigger — name the "
        "connection otherwise"
    ]


def test_ci_is_set_once(tmp_path: Path) -> None:
    result = load(tmp_path, "- ci: {name: A}\n- ci: {name: B}\n")
    assert errors(result) == [
        f"test.yaml:2:3: error: 'ci' is set twice (first at {tmp_path}/test.yaml:1:3) — "
        "keep one '- ci:' element"
    ]


def test_a_malformed_job_entry_says_what_an_entry_is(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        "- job: {name: a, node: lab, run: [x]}\n- project: {name: p, check: {jobs: [[a]]}}\n",
    )
    assert errors(result) == [
        "test.yaml:2:37: error: a job entry of project 'p' is a job name, or one job name "
        "mapped to its overrides — e.g. '- tempest-full' or '- tempest-full: {voting: false}'"
    ]


def test_project_with_unknown_connection(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        "- job: {name: a, node: lab, run: [x]}\n"
        "- project: {name: p, connection: gerit, check: {jobs: [a]}}\n",
    )
    assert errors(result) == [
        "test.yaml:2:34: error: project 'p' names unknown connection 'gerit' — "
        "did you mean 'gerrit'?"
    ]


def test_an_element_must_be_a_mapping(tmp_path: Path) -> None:
    result = load(tmp_path, "- job: just-a-string\n")
    assert errors(result) == ["test.yaml:1:3: error: job must be a mapping of keys to values"]


def test_a_bad_glob(tmp_path: Path) -> None:
    result = load(tmp_path, "- job: {name: a, node: lab, run: [x], files: ['[abc']}\n")
    assert errors(result) == [
        "test.yaml:1:47: error: 'files.0' in job 'a': unclosed '[' in glob '[abc'"
    ]


def test_project_template_with_unknown_pipeline(tmp_path: Path) -> None:
    result = load(tmp_path, "- project-template: {name: t, chek: {jobs: []}}\n")
    assert errors(result) == [
        "test.yaml:1:31: error: unknown key 'chek' in project-template 't': it is neither a "
        "project key nor a pipeline — did you mean 'check'?"
    ]


def test_deep_nesting_is_an_error_not_a_crash(tmp_path: Path) -> None:
    result = load(tmp_path, "- job: {name: j, env: " + "[" * 400 + "]" * 400 + "}\n")
    assert errors(result) == [
        "test.yaml:1:1: error: the YAML is nested too deeply to read — a configuration needs "
        "only a few levels of nesting"
    ]


def test_env_values_keep_what_was_written(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job:
            name: a
            node: lab
            run: [x]
            env: {VERSION: 1.10, MODE: 0755, FLAG: yes, WHEN: 2024-01-01, N: 3}
        - project: {name: p, check: {jobs: [a]}}
        """,
    )
    assert errors(result) == []
    assert result.config is not None
    assert dict(result.config.jobs["a"].env) == {
        "VERSION": "1.10",
        "MODE": "0755",
        "FLAG": "yes",
        "WHEN": "2024-01-01",
        "N": "3",
    }


def test_yaml_merge_keys_may_be_overridden(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - job: &common {name: a, node: lab, run: [x], timeout: 1h}
        - job: {<<: *common, name: b, timeout: 2h}
        - project: {name: p, check: {jobs: [a, b]}}
        """,
    )
    assert errors(result) == []
    assert result.config is not None
    assert (result.config.jobs["a"].timeout, result.config.jobs["b"].timeout) == (3600, 7200)


def test_regular_expressions_are_not_globs(tmp_path: Path) -> None:
    result = load(tmp_path, "- job: {name: a, node: lab, run: [x], files: ['^neutron/.*$']}\n")
    assert errors(result) == [
        "test.yaml:1:47: error: 'files.0' in job 'a': '^neutron/.*$' looks like a regular "
        "expression, but files are globs: write 'neutron/**' for '^neutron/.*$', and '*.rst' "
        "for '^.*\\.rst$'"
    ]


def test_an_inline_password_is_reported_with_other_errors(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - connection:
            name: other
            host: h
            http_url: https://h/
            user: ci
            ssh_port: 0
            http_password: s3cret
        """,
    )
    assert len(errors(result)) == 2
    assert any("http_password must not be written" in e for e in errors(result))
    assert not any("s3cret" in e for e in errors(result))


def test_a_typo_never_suggests_the_forbidden_key(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        "- connection: {name: o, host: h, user: u, http_url: 'https://h/', http_passwd: x}\n",
    )
    assert "did you mean 'http_password'" not in errors(result)[0]


def test_several_connections_need_a_project_to_choose(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - connection: {name: second, host: h, user: u, http_url: 'https://h/'}
        - job: {name: a, node: lab, run: [x]}
        - project: {name: p, check: {jobs: [a]}}
        """,
    )
    assert errors(result) == [
        "test.yaml:3:3: error: project 'p' does not say which connection it is on — add "
        "'connection:' with one of: gerrit, second"
    ]


def test_a_reporter_needs_its_connection_level(tmp_path: Path) -> None:
    result = load(
        tmp_path,
        """
        - pipeline:
            name: gate
            manager: independent
            trigger: {gerrit: [{event: patchset-created}]}
            success: {labels: {Verified: 1}}
            failure: {gerrit: {Verified: -1}}
        """,
    )
    assert len(errors(result)) == 2
    assert "'labels' goes inside a connection" in errors(result)[0]
    assert "'Verified: -1' is a vote: write it under labels" in errors(result)[1]


def test_a_concrete_job_needs_a_node(tmp_path: Path) -> None:
    result = load(tmp_path, "- job: {name: a, run: [x]}\n")
    assert errors(result) == [
        "test.yaml:1:3: error: job 'a' has no node — set 'node:' to a label, here or in a parent"
    ]


def test_a_project_name_with_regex_characters_needs_a_caret(tmp_path: Path) -> None:
    result = load(tmp_path, "- project: {name: openstack/.*}\n")
    assert errors(result) == [
        "test.yaml:1:19: error: project name 'openstack/.*' is neither a Gerrit project name "
        "nor a regular expression — to match several projects, start it with '^': "
        "'^openstack/.*'"
    ]


def test_a_nul_in_a_step_or_its_environment_is_an_error_not_a_failed_build(
    tmp_path: Path,
) -> None:
    """YAML reads "\\033" in double quotes as a NUL and "33": no process can be given it,
    so every build of the job would have ended in an error."""
    result = load(
        tmp_path,
        "- job:\n    name: esc\n    node: lab\n    run: [\"printf '\\033[31m'\"]\n"
        '- job:\n    name: envy\n    node: lab\n    env: {COLOR: "a\\0b"}\n    run: ["true"]\n'
        '- job:\n    name: named\n    node: lab\n    env: {"A=B": x}\n    run: ["true"]\n',
    )
    hint = (
        'holds a NUL character (YAML reads "\\0..." in double quotes as one): write "\\\\0" '
        "for a backslash and a 0, or use single quotes"
    )
    assert errors(result) == [
        f"test.yaml:4:11: error: 'run.0' in job 'esc': {hint}",
        f"test.yaml:8:10: error: 'env' in job 'envy': environment value of COLOR: {hint}",
        "test.yaml:13:10: error: 'env' in job 'named': environment name 'A=B' holds '=' or a "
        "NUL: give a plain name",
    ]


def test_a_tab_indentation_is_named_as_the_problem(tmp_path: Path) -> None:
    """PyYAML's message does not name the character it stopped at."""
    result = load(tmp_path, "- job:\n\tname: a\n")
    assert errors(result) == [
        "test.yaml:2:1: error: YAML syntax: found character that cannot start any token "
        "(while scanning for the next token at line 2, column 1) — indent with spaces; "
        "YAML does not allow tabs"
    ]
