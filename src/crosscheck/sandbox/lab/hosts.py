"""The lab's hosts and the lab itself: N real sshd hosts, each alone in a network
namespace with its own address, that tests and benchmarks start, break and take down.

Layout under the lab's root (mode 0755, so the login user can reach its work roots):

    authorized_keys        the client's public key, for every host
    client_key(.pub)       the client's ed25519 key
    lab-<i>/               one directory per host
        sshd_config  ssh_host_ed25519_key(.pub)  sshd.log  sshd.pid
        work/              the host's work root, owned by the login user
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import re
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

from crosscheck.sandbox.daemons import KILL_WAIT
from crosscheck.sandbox.lab import keys, netns, processes, sshd, users
from crosscheck.sandbox.lab.errors import LabError
from crosscheck.sandbox.lab.lock import PrefixLock
from crosscheck.sandbox.lab.prerequisites import require_lab

#: The account builds log in as (created on first use, shared by every lab).
LAB_USER = "cxlab"
SSH_PORT = 22
#: Linux refuses longer interface names.
MAX_INTERFACE_NAME = 15
#: Host addresses are <subnet>.(HOST_OFFSET + i); .1 is the bridge.
HOST_OFFSET = 10
MAX_HOSTS = 254 - HOST_OFFSET
#: How often the processes of a namespace are listed and killed before giving up:
#: a listener being killed may still fork a session or two.
KILL_ROUNDS = 5
PREFIX_PATTERN = re.compile(r"[a-z][a-z0-9]*")


class LabHost:
    """One host: an sshd alone in its namespace, reached from the root namespace at
    `address`:`port`, which a test can stop, cut off, power off or re-key."""

    def __init__(
        self, *, name: str, namespace: str, address: str, veth: str, lab_root: Path, prefix: str
    ) -> None:
        self.name = name
        self.namespace = namespace
        self.address = address
        self.port = SSH_PORT
        self.user = LAB_USER
        self.directory = lab_root / name
        self.work_root = self.directory / "work"
        #: Empty until the lab has started and made the host's key.
        self.host_key_line = ""
        self.veth = veth
        self._prefix = prefix
        self._authorized_keys = lab_root / "authorized_keys"
        self._process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        return f"LabHost({self.name} {self.address} in {self.namespace})"

    @property
    def host_key(self) -> Path:
        return self.directory / "ssh_host_ed25519_key"

    @property
    def config(self) -> Path:
        return self.directory / "sshd_config"

    @property
    def log(self) -> Path:
        return self.directory / "sshd.log"

    def known_hosts_line(self) -> str:
        """The line that pins this host's current key, for `known_hosts`."""
        target = self.address if self.port == SSH_PORT else f"[{self.address}]:{self.port}"
        return f"{target} {self.host_key_line}"

    def prepare(self, account: pwd.struct_passwd) -> None:
        """Directories, a fresh host key and sshd's configuration; the lab calls it."""
        self.directory.mkdir(exist_ok=True)
        self.directory.chmod(0o755)
        self.work_root.mkdir(exist_ok=True)
        os.chown(self.work_root, account.pw_uid, account.pw_gid)
        self.work_root.chmod(0o755)
        self.host_key_line = keys.generate_key(self.host_key, f"{self.name} host key")
        config = sshd.SshdConfig(
            prefix=self._prefix,
            address=self.address,
            port=self.port,
            host_key=self.host_key,
            pid_file=self.directory / "sshd.pid",
            authorized_keys=self._authorized_keys,
            user=self.user,
        )
        self.config.write_text(config.render())

    def start_sshd(self) -> None:
        """Start sshd (a no-op while it runs) and wait until its port accepts.
        The link must be up: readiness is a connect from the root namespace."""
        if self._process is not None and self._process.poll() is None:
            return
        program = sshd.require_sshd()
        sshd.ensure_privsep_dir()
        sshd.check_config(program, self.config)
        self._process = sshd.launch(program, self.namespace, self.config, self.log)
        try:
            sshd.wait_listening(self.name, self.address, self.port, self._process, self.log)
        except LabError:
            self._stop_listener()
            raise

    def stop_sshd(self) -> None:
        """The host's sshd goes down: the listener and every session process, so open
        connections are cut. What the sessions started keeps running (see kill_all)."""
        self._stop_listener()
        self._kill_in_namespace(sshd.is_sshd, "sshd processes")

    def kill_all(self) -> None:
        """Power off: every process in the host's namespace, sshd and builds alike."""
        self._stop_listener()
        self._kill_in_namespace(lambda _pid: True, "processes")

    def link_down(self) -> None:
        """Cut the cable: packets to and from the host vanish, nobody is told (no RST,
        no ICMP), so open connections hang and new ones time out."""
        netns.set_link_state(self.veth, up=False)

    def link_up(self) -> None:
        netns.set_link_state(self.veth, up=True)

    def rotate_host_key(self) -> str:
        """A new host key, with sshd restarted on it when it was running; the new
        `ssh-ed25519 AAAA...` line. Like a real restart, open sessions survive."""
        running = self._process is not None and self._process.poll() is None
        self.host_key_line = keys.generate_key(self.host_key, f"{self.name} host key")
        if running:
            self._stop_listener()
            self.start_sshd()
        return self.host_key_line

    def run(self, script: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """`sh -c script` as root inside the host's namespace, unchecked (the caller judges
        the exit code): for assertions on what runs there and which files exist."""
        try:
            return subprocess.run(
                netns.exec_args(self.namespace, ["sh", "-c", script]),
                capture_output=True,
                text=True,
                check=False,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as error:
            raise LabError(
                f"`{script}` on {self.name} did not finish within {timeout:g} s"
            ) from error

    def _stop_listener(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.kill()
        try:
            process.wait(timeout=KILL_WAIT)
        except subprocess.TimeoutExpired:
            raise LabError(
                f"sshd of {self.name} (pid {process.pid}) outlived SIGKILL for {KILL_WAIT:g} s"
            ) from None

    def _kill_in_namespace(self, select: Callable[[int], bool], what: str) -> None:
        kill_namespace(self.namespace, select, what)


def kill_namespace(namespace: str, select: Callable[[int], bool], what: str) -> None:
    """SIGKILL the selected processes of a namespace until none is left."""
    for _ in range(KILL_ROUNDS):
        targets = [pid for pid in netns.pids(namespace) if select(pid)]
        if not targets:
            return
        survivors = processes.kill(targets)
        if survivors:
            raise LabError(
                f"{what} {survivors} in {namespace} outlived SIGKILL for {KILL_WAIT:g} s; "
                f"see where they hang with `ps -o pid,stat,wchan,cmd -p "
                f"{','.join(map(str, survivors))}`"
            )
    raise LabError(f"{what} in {namespace} kept appearing through {KILL_ROUNDS} rounds of kills")


class Lab:
    """N sshd hosts under `root`; a context manager: start() on enter, stop() on exit.

    Several labs may be up at once when each has its own `prefix` (it names the
    namespaces `<prefix>-<i>`, the bridge `<prefix>-br` and the veths `<prefix>-v<i>`)
    and its own `subnet` (the /24 of the bridge, <subnet>.1, and of the hosts,
    <subnet>.11 upwards). One prefix is held by one live lab at a time; start() first
    removes whatever a crashed earlier run left with this prefix. `root` must be
    reachable by the login user: every directory above it must let others enter
    (pytest's tmp_path does not; use e.g. Path(tempfile.mkdtemp(prefix="cxlab-"))).
    """

    def __init__(
        self, root: Path, count: int, *, prefix: str = "cxlab", subnet: str = "10.231.0"
    ) -> None:
        _validate(count, prefix, subnet)
        self.root = root
        self.prefix = prefix
        self.subnet = subnet
        self.user = LAB_USER
        self.client_key = root / "client_key"
        #: Empty until start() has made the key.
        self.client_public_key = ""
        self.bridge = f"{prefix}-br"
        self.gateway = f"{subnet}.1"
        self.hosts = [
            LabHost(
                name=f"lab-{i}",
                namespace=f"{prefix}-{i}",
                address=f"{subnet}.{HOST_OFFSET + i}",
                veth=f"{prefix}-v{i}",
                lab_root=root,
                prefix=prefix,
            )
            for i in range(1, count + 1)
        ]
        self._lock = PrefixLock(prefix)
        self._started = False

    def __enter__(self) -> Lab:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Make the network and the hosts and start every sshd (a no-op when started).
        On failure it takes down what it made before raising."""
        if self._started:
            return
        require_lab()
        if not self._lock.acquire():
            raise LabError(
                f"another lab with the prefix {self.prefix!r} is up (pid {self._lock.holder()}): "
                f"stop it, or give this lab its own prefix and subnet, e.g. "
                f"Lab(root, n, prefix='cxbench', subnet='10.231.1')"
            )
        try:
            self._remove_leftovers()
            self._check_subnet_free()
            self._prepare_files()
            self._build_network()
            for host in self.hosts:
                host.start_sshd()
        except BaseException as error:
            try:
                self._take_down()
            except LabError as cleanup:
                # What made start() fail matters most; the cleanup's failure rides along.
                error.add_note(f"taking the half-made lab down failed too: {cleanup}")
            raise
        self._started = True

    def stop(self) -> None:
        """Kill every process of the hosts and remove namespaces, veths and bridge; the
        files under root stay. Safe to call twice, and before start (then it removes a
        crashed run's leftovers, unless another live lab holds the prefix)."""
        if self._lock.acquire():
            self._take_down()

    def _take_down(self) -> None:
        try:
            for host in self.hosts:
                host.kill_all()
            self._remove_leftovers()
        finally:
            self._lock.release()
            self._started = False

    def _remove_leftovers(self) -> None:
        names = re.compile(rf"{self.prefix}-\d+")
        leftovers = [name for name in netns.namespaces() if names.fullmatch(name)]
        for namespace in leftovers:
            kill_namespace(namespace, lambda _pid: True, "processes")
        # Listeners whose namespace was deleted under them are found by their config.
        processes.kill(sshd.marked_listeners(self.prefix))
        for namespace in leftovers:
            netns.delete_namespace(namespace)
        # The kernel deletes a namespace's veth pairs lazily: delete them now.
        links = re.compile(rf"{self.prefix}-(v\d+|br)")
        for link in filter(links.fullmatch, netns.links()):
            netns.delete_link(link)

    def _check_subnet_free(self) -> None:
        network = ipaddress.IPv4Network(f"{self.subnet}.0/24")
        for interface, address in netns.interface_addresses():
            if address.network.overlaps(network):
                raise LabError(
                    f"the subnet {network} of lab {self.prefix!r} is already used by "
                    f"{interface} ({address}): give this lab another subnet, e.g. "
                    f"Lab(root, n, prefix=..., subnet='10.231.1')"
                )

    def _prepare_files(self) -> None:
        self._prepare_root()
        account = users.ensure_user(self.user)
        self.client_public_key = keys.generate_key(self.client_key, f"{self.prefix} client")
        authorized = self.root / "authorized_keys"
        authorized.write_text(self.client_public_key + "\n")
        authorized.chmod(0o644)
        for host in self.hosts:
            host.prepare(account)

    def _prepare_root(self) -> None:
        """Make root (and what is missing above it) 0755, after checking that the login
        user can pass through the directories above it that exist already."""
        for parent in filter(Path.exists, self.root.parents):
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                raise LabError(
                    f"the lab's root {self.root} is out of reach of its login user "
                    f"{self.user}: {parent} has mode {stat.filemode(mode)}. Put the root "
                    f"under a directory others may enter, e.g. "
                    f"Path(tempfile.mkdtemp(prefix='cxlab-')) (pytest's tmp_path is not)"
                )
        created = [path for path in (self.root, *self.root.parents) if not path.exists()]
        self.root.mkdir(parents=True, exist_ok=True)
        for path in {*created, self.root}:
            path.chmod(0o755)

    def _build_network(self) -> None:
        netns.add_bridge(self.bridge, self.gateway)
        for host in self.hosts:
            netns.add_namespace(host.namespace)
            netns.add_host_link(
                host.namespace, host.veth, self.bridge, address=host.address, gateway=self.gateway
            )


def _validate(count: int, prefix: str, subnet: str) -> None:
    if not 1 <= count <= MAX_HOSTS:
        raise LabError(f"a lab has 1 to {MAX_HOSTS} hosts, not {count}")
    if not PREFIX_PATTERN.fullmatch(prefix):
        raise LabError(
            f"the lab prefix {prefix!r} must be lowercase letters and digits starting with a "
            "letter: it names namespaces and interfaces, and `-` separates it from their numbers"
        )
    longest = f"{prefix}-v{count}"
    if len(longest) > MAX_INTERFACE_NAME:
        raise LabError(
            f"the lab prefix {prefix!r} is too long: interface names like {longest} must "
            f"have at most {MAX_INTERFACE_NAME} characters"
        )
    try:
        ipaddress.IPv4Network(f"{subnet}.0/24")
    except ValueError:
        raise LabError(
            f"the lab subnet {subnet!r} must be the first three octets of an IPv4 /24, "
            "e.g. '10.231.0'"
        ) from None
