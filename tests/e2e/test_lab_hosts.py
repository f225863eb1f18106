"""The lab of sshd hosts itself, driven the way the SSH node provider drives it: asyncssh
connections pinned to each host's key, hosts going down, losing their cable, being
powered off and re-keyed. Needs no Gerrit, only root and network namespaces; a
machine without them fails here with what to install, it never skips.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncssh
import pytest

from crosscheck.sandbox.lab import Lab, LabError, LabHost, require_lab

# Apart from the defaults, so a lab of the provider's tests may be up at the same time.
PREFIX = "cxtest"
SUBNET = "10.231.200"
#: Long enough for a connect across a working link, short enough to keep the tests fast.
CUT_TIMEOUT = 2.0


def make_root() -> Path:
    # pytest's tmp_path sits in a 0700 directory the lab's login user may not enter.
    root = Path(tempfile.mkdtemp(prefix="cxlab-test-"))
    root.chmod(0o755)
    return root


def lab_possible() -> None:
    """Fail, never skip, on a machine that cannot make a lab, saying what to install."""
    try:
        require_lab()
    except LabError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="module")
def lab_root() -> Iterator[Path]:
    lab_possible()
    root = make_root()
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def lab(lab_root: Path) -> Iterator[Lab]:
    with Lab(lab_root, 2, prefix=PREFIX, subnet=SUBNET) as started:
        yield started


async def connect(
    lab: Lab, host: LabHost, pinned: str | None = None
) -> asyncssh.SSHClientConnection:
    """A connection as the provider makes one: the lab's client key, the host key pinned."""
    return await asyncssh.connect(
        host.address,
        host.port,
        username=lab.user,
        client_keys=[str(lab.client_key)],
        known_hosts=asyncssh.import_known_hosts(pinned or host.known_hosts_line()),
        agent_path=None,
        connect_timeout=5,
    )


async def output(conn: asyncssh.SSHClientConnection, command: str) -> str:
    result = await conn.run(command, check=True, timeout=10)
    return str(result.stdout).strip()


async def tcp_connect(host: LabHost) -> None:
    _, writer = await asyncio.wait_for(
        asyncio.open_connection(host.address, host.port), CUT_TIMEOUT
    )
    writer.close()
    await writer.wait_closed()


def namespace_pids(host: LabHost) -> list[int]:
    listed = subprocess.run(
        ["ip", "netns", "pids", host.namespace], capture_output=True, text=True, check=True
    )
    return [int(pid) for pid in listed.stdout.split()]


async def test_each_host_has_its_own_address_and_host_key(lab: Lab) -> None:
    for host in lab.hosts:
        async with await connect(lab, host) as conn:
            assert (await output(conn, "hostname -I")).split() == [host.address]
    first, second = lab.hosts
    assert first.address != second.address
    assert first.host_key_line != second.host_key_line
    assert first.known_hosts_line() == f"{first.address} {first.host_key_line}"
    assert first.host_key_line.startswith("ssh-ed25519 AAAA")


async def test_builds_log_in_unprivileged_and_own_their_work_root(lab: Lab) -> None:
    host = lab.hosts[0]
    async with await connect(lab, host) as conn:
        assert await output(conn, "id -un") == lab.user
        await output(conn, f"echo built > {host.work_root}/artifact")
    listed = host.run(f"stat -c %U {host.work_root}/artifact")
    assert listed.stdout.strip() == lab.user
    assert lab.client_key.stat().st_mode & 0o777 == 0o600


async def test_stop_sshd_cuts_open_connections_and_start_sshd_brings_the_host_back(
    lab: Lab,
) -> None:
    host = lab.hosts[0]
    async with await connect(lab, host) as conn:
        assert await output(conn, "echo up") == "up"
        host.stop_sshd()
        try:
            with pytest.raises((asyncssh.Error, OSError)):
                await conn.run("echo still up", timeout=CUT_TIMEOUT)
            with pytest.raises(ConnectionRefusedError):
                await tcp_connect(host)
        finally:
            host.start_sshd()
    async with await connect(lab, host) as conn:
        assert await output(conn, "echo back") == "back"


async def test_stop_sshd_spares_builds_and_kill_all_powers_the_host_off(lab: Lab) -> None:
    host = lab.hosts[1]
    async with await connect(lab, host) as conn:
        await output(conn, "setsid sleep 300 </dev/null >/dev/null 2>&1 &")
    host.stop_sshd()
    try:
        survivors = namespace_pids(host)
        assert survivors, "the build's sleep should outlive sshd"
        host.kill_all()
        assert namespace_pids(host) == []
    finally:
        host.start_sshd()


async def test_link_down_loses_packets_silently_until_link_up(lab: Lab) -> None:
    host = lab.hosts[0]
    async with await connect(lab, host) as conn:
        host.link_down()
        try:
            # A cut cable, not a refusal: both a new connect and an open session hang.
            hung = await asyncio.gather(
                tcp_connect(host),
                asyncio.wait_for(conn.run("echo hello"), CUT_TIMEOUT),
                return_exceptions=True,
            )
            assert [type(outcome) for outcome in hung] == [TimeoutError, TimeoutError]
        finally:
            host.link_up()
        # TCP retransmits bring the open connection back once the cable is in again.
        assert await output(conn, "echo survived") == "survived"
    await tcp_connect(host)


async def test_rotated_host_key_fails_a_connection_pinned_to_the_old_one(lab: Lab) -> None:
    host = lab.hosts[1]
    old = host.known_hosts_line()
    new = host.rotate_host_key()
    assert new == host.host_key_line != old.split(" ", 1)[1]
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        await connect(lab, host, pinned=old)
    async with await connect(lab, host) as conn:
        assert await output(conn, "echo rekeyed") == "rekeyed"


def test_a_second_lab_may_not_take_a_live_prefix_or_subnet(lab: Lab) -> None:
    root = make_root()
    try:
        with pytest.raises(LabError, match="another lab with the prefix 'cxtest' is up"):
            Lab(root, 1, prefix=PREFIX, subnet="10.231.202").start()
        with pytest.raises(LabError, match=r"10\.231\.200\.0/24 .* already used by cxtest-br"):
            Lab(root, 1, prefix="cxother", subnet=SUBNET).start()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert all(host.run("true").returncode == 0 for host in lab.hosts)


def test_a_root_out_of_the_login_users_reach_is_refused_untouched(tmp_path: Path) -> None:
    lab_possible()
    root = tmp_path / "lab"
    with pytest.raises(LabError, match=r"out of reach of its login user cxlab: .* drwx------"):
        Lab(root, 1, prefix="cxtestc", subnet="10.231.203").start()
    assert not root.exists()


@pytest.mark.parametrize(
    ("count", "prefix", "subnet", "complaint"),
    [
        (1, "cx-lab", "10.231.0", "lowercase letters and digits"),
        (1, "crosschecklab", "10.231.0", "too long"),
        (0, "cxlab", "10.231.0", "1 to 244 hosts"),
        (1, "cxlab", "10.231", "first three octets"),
    ],
)
def test_names_that_cannot_work_are_refused_up_front(
    count: int, prefix: str, subnet: str, complaint: str
) -> None:
    with pytest.raises(LabError, match=complaint):
        Lab(Path("/nonexistent"), count, prefix=prefix, subnet=subnet)


def lab_leftovers(prefix: str, root: Path) -> list[str]:
    namespaces = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=False
    ).stdout
    links = subprocess.run(
        ["ip", "-o", "link", "show"], capture_output=True, text=True, check=False
    ).stdout
    sshds = subprocess.run(
        ["ps", "-eo", "args"], capture_output=True, text=True, check=False
    ).stdout
    return [
        line
        for line in (namespaces + links).splitlines() + sshds.splitlines()
        if f"{prefix}-" in line or (str(root) in line and "sshd" in line)
    ]


def test_start_clears_a_crashed_run_and_stop_leaves_nothing_behind() -> None:
    lab_possible()
    prefix, root = "cxtestb", make_root()
    # What a run killed mid-way leaves: a namespace with a process in it, a bridge.
    subprocess.run(["ip", "netns", "add", f"{prefix}-1"], check=True)
    subprocess.run(["ip", "link", "add", f"{prefix}-br", "type", "bridge"], check=True)
    stray = subprocess.Popen(
        ["ip", "netns", "exec", f"{prefix}-1", "sleep", "300"], start_new_session=True
    )
    lab = Lab(root, 1, prefix=prefix, subnet="10.231.201")
    try:
        with lab:
            assert stray.wait(timeout=5) == -signal.SIGKILL
            assert lab.hosts[0].run("hostname -I").stdout.split() == ["10.231.201.11"]
        lab.stop()
        assert lab_leftovers(prefix, root) == []
    finally:
        stray.kill()
        stray.wait()
        lab.stop()
        shutil.rmtree(root, ignore_errors=True)
