"""Buildbot's master.cfg for the bench: Gerrit in, one trivial builder, Verified out.

GerritChangeSource follows `gerrit stream-events` over SSH as the peer's account; a
scheduler starts the builder for each new patchset of the peer's project alone; the
builder runs `true` on the one worker; GerritStatusPush votes Verified +1/-1 through
`gerrit review` over SSH, as the same account. No web UI (`www` has no port).
"""

from __future__ import annotations

from string import Template

MASTER_CFG = Template("""\
from buildbot.plugins import changes, reporters, schedulers, steps, util, worker

c = BuildmasterConfig = {}
c["buildbotNetUsageData"] = None
c["title"] = "crosscheck bench peer"
c["buildbotURL"] = "http://127.0.0.1/"
c["www"] = {"port": None}
c["db"] = {"db_url": "sqlite:///state.sqlite"}
# Every change gets its own build and vote, as in crosscheck.
c["collapseRequests"] = False
c["protocols"] = {"pb": {"port": "tcp:$pb_port:interface=127.0.0.1"}}
c["workers"] = [worker.Worker("$worker_name", "$worker_password", max_builds=$max_builds)]
c["change_source"] = [
    changes.GerritChangeSource(
        gerritserver="127.0.0.1",
        gerritport=$ssh_port,
        username="$username",
        identity_file="$identity_file",
        handled_events=["patchset-created", "ref-updated"],
    )
]
c["schedulers"] = [
    schedulers.AnyBranchScheduler(
        name="check",
        change_filter=util.GerritChangeFilter(project="$project", eventtype="patchset-created"),
        treeStableTimer=None,
        builderNames=["trivial"],
    )
]
c["builders"] = [
    util.BuilderConfig(
        name="trivial",
        workernames=["$worker_name"],
        factory=util.BuildFactory([steps.ShellCommand(command=["true"])]),
    )
]
c["services"] = [
    reporters.GerritStatusPush(
        server="127.0.0.1", port=$ssh_port, username="$username", identity_file="$identity_file"
    )
]
""")
