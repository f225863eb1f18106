"""Real verify-status clients, unchanged: Buildbot's GerritVerifyStatusPush (its own code,
against a running service), the plugin's documented examples, Jenkins' reporter's body."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from crosscheck.model.results import ResultValue
from crosscheck.results.service import ResultsService
from crosscheck.results.settings import ResultsSettings
from crosscheck.serve.results_app import create_results_app
from crosscheck.store import open_store
from tests.browser.server import free_port
from tests.integration.results.api_harness import Harness, harness
from tests.integration.results.helpers import new_result, plugin_json, stored_count

DOCS = Path(__file__).parents[3] / "docs" / "results.md"
PUSH_SCRIPT = Path(__file__).with_name("buildbot_push.py")
PATH = "/a/changes/{change}/revisions/{revision}/verify-status~verifications"


def master_cfg_snippet() -> str:
    """The Buildbot master.cfg snippet of docs/results.md, as operators copy it."""
    text = DOCS.read_text()
    section = text[text.index("### Buildbot") :]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "docs/results.md lost its Buildbot master.cfg snippet"
    return match.group(1)


@contextmanager
def running_service(store_url: str) -> Iterator[str]:
    """The standalone results app under uvicorn on 127.0.0.1, in a thread of its own."""
    port = free_port()
    holder: list[uvicorn.Server] = []
    failure: list[BaseException] = []
    started = threading.Event()

    async def serve() -> None:
        engine = await open_store(store_url)
        try:
            app = create_results_app(ResultsService(engine), ResultsSettings())
            server = uvicorn.Server(
                uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
            )
            holder.append(server)
            started.set()
            await server.serve()
        finally:
            await engine.dispose()

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as error:  # reported to the test below
            failure.append(error)
            started.set()

    thread = threading.Thread(target=run, name="results-server", daemon=True)
    thread.start()
    started.wait(60)
    for _ in range(600):
        if failure or (holder and holder[0].started):
            break
        threading.Event().wait(0.05)
    if failure or not holder or not holder[0].started:
        raise RuntimeError(f"the results service did not start: {failure or 'timed out'}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        holder[0].should_exit = True
        thread.join(30)


def buildbot_build(*, complete: bool, results: int | None = None, seconds: int = 0) -> Any:
    return {
        "body": "Build done." if complete else "Build started.",
        "complete": complete,
        "results": results,
        "seconds": seconds,
        "url": "http://buildbot.acme.example/#/builders/1/builds/7",
        "properties": {
            "buildername": "tempest-full",
            "event.change.number": 1234,
            "event.patchSet.number": 2,
        },
    }


async def test_buildbots_own_reporter_is_stored_from_start_to_end(store_url: str) -> None:
    engine = await open_store(store_url)
    try:
        service = ResultsService(engine)
        _, token = await service.accounts.create("Acme CI", allowed_projects=["openstack/*"])
        await service.accounts.create("Zuul", allowed_projects=["*"])
        # Buildbot names the change by number: another CI's result places its project.
        await service.report("Zuul", [new_result(change=1234, patchset=2, job="unit")])
        with running_service(store_url) as url:
            snippet = master_cfg_snippet().replace("https://results.example.org", url)
            spec = {
                "master_cfg": snippet,
                "secrets": {"crosscheck-results-token": token},
                "builds": [
                    buildbot_build(complete=False),
                    buildbot_build(complete=True, results=0, seconds=330),  # SUCCESS
                ],
            }
            done = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, str(PUSH_SCRIPT)],
                input=json.dumps(spec),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["204", "204"], done.stderr
        history = await service.change_results(1234, patchset=2, current=False, account="Acme CI")
        started, ended = history
        assert (started.job, started.value, started.duration) == (
            "tempest-full",
            ResultValue.IN_PROGRESS,
            None,
        )
        assert started.comment == "Build started."
        assert (ended.value, ended.duration, ended.category) == (
            ResultValue.PASSED,
            330.0,
            "third party",
        )
        assert ended.url == "http://buildbot.acme.example/#/builders/1/builds/7"
        assert ended.voting is True
        stats = await service.account_statistics("Acme CI")
        assert stats.windows["24h"].count(ResultValue.IN_PROGRESS) == 1
        assert stats.windows["24h"].success_rate == 1.0  # the start never counts as unstable
    finally:
        await engine.dispose()


@pytest.fixture
async def api(store_url: str) -> AsyncIterator[Harness]:
    async with harness(store_url) as made:
        yield made


async def _post(api: Harness, token: str, body: Any, revision: str = "2") -> Any:
    return await api.http.post(
        PATH.format(change="openstack%2Fhorizon~1000", revision=revision),
        json=body,
        auth=("Jenkins Check", token),
    )


#: The plugin's documented POST example (rest-api-changes.md): keys are job names, no `name`.
DOCUMENTED_POST = {
    "verifications": {
        "gate-horizon-python27": {
            "url": "https://ci.host.com/jobs/gate-horizon-python27/1711",
            "value": 1,
            "abstain": True,
            "reporter": "Jenkins Check",
            "comment": "Informational only",
            "category": "third party",
            "duration": "2m 40s",
        },
        "gate-horizon-python34": {
            "url": "https://ci.host.com/jobs/gate-horizon-python34/1711",
            "value": -1,
            "abstain": False,
            "reporter": "Jenkins Check",
            "comment": "RuntimeError: File was not found",
            "category": "third party",
            "duration": "12m 20s",
        },
    }
}


async def test_the_plugins_documented_examples_replay(api: Harness) -> None:
    token = await api.account("Jenkins Check")
    saved = await _post(api, token, DOCUMENTED_POST)
    assert saved.status_code == 204, saved.text
    # The documented reads: sorted by reporter, current only; and by name.
    for query in ("?sort=REPORTER&filter=CURRENT", "?sort=NAME"):
        read = await api.http.get(PATH.format(change="1000", revision="2") + query)
        found = plugin_json(read)
        assert [(i["name"], i["value"], i["abstain"], i["duration"]) for i in found.values()] == [
            ("gate-horizon-python27", 1, True, "2m 40s"),
            ("gate-horizon-python34", -1, False, "12m 20s"),
        ]
        assert {i["reporter"] for i in found.values()} == {"Jenkins Check"}
    # The documented update: post again under a job id from the GET; the job is kept.
    job_id = next(k for k, v in found.items() if v["name"] == "gate-horizon-python34")
    again = await _post(api, token, {"verifications": {job_id: {"value": 1, "duration": "3m"}}})
    assert again.status_code == 204, again.text
    current = plugin_json(
        await api.http.get(PATH.format(change="1000", revision="2") + "?filter=CURRENT")
    )
    assert sorted((i["name"], i["value"]) for i in current.values()) == [
        ("gate-horizon-python27", 1),
        ("gate-horizon-python34", 1),
    ]


async def test_jenkins_reporters_body_is_stored(api: Harness) -> None:
    """VerificationsPublisher: key JOB_NAME, no name, empty comment and category, Jenkins'
    duration words, abstain always present, Gson's granted ignored."""
    token = await api.account("Jenkins Check")
    body = {
        "verifications": {
            "nova-tempest": {
                "url": "https://jenkins.acme.example/job/nova-tempest/12/",
                "value": 0,
                "abstain": False,
                "reporter": "jenkins",
                "comment": "",
                "category": "recheck",
                "duration": "1 hr 2 min",
                "granted": None,
            }
        }
    }
    saved = await _post(api, token, body)
    assert saved.status_code == 204, saved.text
    (stored,) = await api.service.change_results(1000)
    assert (stored.job, stored.value, stored.duration) == (
        "nova-tempest",
        ResultValue.UNSTABLE,
        3720,
    )
    assert (stored.comment, stored.category) == (None, "recheck")


async def test_a_flat_body_and_its_errors(api: Harness) -> None:
    token = await api.account("Jenkins Check")
    pending = {"name": "lint", "value": 0, "duration": "pending", "abstain": None}
    assert (await _post(api, token, pending)).status_code == 204
    (stored,) = await api.service.change_results(1000)
    assert (stored.value, stored.duration, stored.voting) == (ResultValue.IN_PROGRESS, None, True)
    nameless = await _post(api, token, {"value": 1})
    assert nameless.status_code == 400
    assert nameless.json()["errors"] == [
        {"field": "name", "message": "the job's name is required in a single verification"}
    ]
    bad_value = await _post(api, token, {"name": "lint", "value": 9})
    assert bad_value.status_code == 400
    assert "value 9 has no meaning" in bad_value.json()["detail"]
    assert await stored_count(api.service) == 1


async def test_abbreviated_commits_name_a_patchset(api: Harness) -> None:
    token = await api.account("Jenkins Check")
    await api.service.report(
        "Jenkins Check",
        [
            new_result(
                project="openstack/horizon", change=1000, patchset=1, revision="14a95001" + "0" * 32
            ),
            new_result(
                project="openstack/horizon", change=1000, patchset=2, revision="14a95002" + "0" * 32
            ),
        ],
    )
    saved = await _post(api, token, DOCUMENTED_POST, revision="14a95002")
    assert saved.status_code == 204, saved.text
    assert len(await api.service.change_results(1000, patchset=2, current=False)) == 3
    ambiguous = await _post(api, token, DOCUMENTED_POST, revision="14a9500")
    assert ambiguous.status_code == 400
    assert "commit 14a9500 is ambiguous" in ambiguous.json()["detail"]
