"""Run Buildbot's real GerritVerifyStatusPush, configured by a master.cfg snippet, in a
process of its own (Twisted's reactor), and send a build's start and end to a service.

Reads {"master_cfg", "secrets", "builds": [...]} on stdin; each build is sent through
the reporter's own `sendMessage`, as Buildbot's build start and end generators do.
Prints the HTTP status of every request the reporter made, one per line.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from typing import Any

from buildbot.test.fake.fakemaster import make_master  # type: ignore[import-untyped]
from buildbot.util import httpclientservice  # type: ignore[import-untyped]
from twisted.internet import defer, task


class _NoEvents:
    """The message queue the reporter subscribes to: events come from this script."""

    def startConsuming(self, callback: Any, filter: Any) -> Any:  # noqa: N802
        return defer.succeed(_Consumer())


class _Consumer:
    def stopConsuming(self) -> None:  # noqa: N802
        pass


async def main(reactor: Any) -> None:
    spec = json.load(sys.stdin)
    master = await make_master(None, wantRealReactor=True, with_secrets=spec["secrets"])
    master.mq = _NoEvents()
    master.httpservice = httpclientservice.HTTPClientService("http://unused")
    await master.httpservice.setServiceParent(master)
    config: dict[str, Any] = {"services": []}
    exec(spec["master_cfg"], {"c": config, "BuildmasterConfig": config})  # noqa: S102
    (reporter,) = config["services"]
    statuses: list[int] = []
    create_status = reporter.createStatus

    def recorded(*args: Any, **kwargs: Any) -> Any:
        def note(answer: Any) -> Any:
            statuses.append(answer.code)
            return answer

        return create_status(*args, **kwargs).addCallback(note)

    reporter.createStatus = recorded
    await reporter.setServiceParent(master)
    await master.startService()
    for build in spec["builds"]:
        await reporter.sendMessage([{"body": build.pop("body"), "builds": [_build(build)]}])
    await master.stopService()
    print("\n".join(str(code) for code in statuses))


def _build(build: dict[str, Any]) -> dict[str, Any]:
    started = datetime(2024, 5, 1, 12, 0, 0)
    return {
        "complete": build["complete"],
        "results": build.get("results"),
        "url": build["url"],
        "started_at": started,
        "complete_at": started + timedelta(seconds=build.get("seconds", 0)),
        "properties": {name: (value, "test") for name, value in build["properties"].items()},
    }


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
