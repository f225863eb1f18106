"""The lab's network: namespaces, a bridge and veth pairs, all driven through `ip`."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from crosscheck.sandbox.lab.tools import attempt, run_tool


def _json(args: list[str]) -> list[dict[str, Any]]:
    # `ip -j` prints nothing at all (not "[]") when there is nothing to list.
    output = run_tool(["ip", "-j", *args], what=f"list {args[0]}s")
    parsed: list[dict[str, Any]] = json.loads(output) if output.strip() else []
    return parsed


def namespaces() -> list[str]:
    return [str(entry["name"]) for entry in _json(["netns", "list"])]


def links() -> list[str]:
    return [str(entry["ifname"]) for entry in _json(["link", "show"])]


def interface_addresses() -> list[tuple[str, ipaddress.IPv4Interface]]:
    """Every IPv4 address of the root namespace, with the interface holding it."""
    found = []
    for entry in _json(["-4", "addr", "show"]):
        for info in entry.get("addr_info", []):
            interface = ipaddress.IPv4Interface(f"{info['local']}/{info['prefixlen']}")
            found.append((str(entry["ifname"]), interface))
    return found


def add_namespace(name: str) -> None:
    run_tool(["ip", "netns", "add", name], what=f"create the network namespace {name}")
    run_tool(["ip", "-n", name, "link", "set", "lo", "up"], what=f"bring up lo in {name}")


def delete_namespace(name: str) -> None:
    # Deleting what is already gone is fine: cleanup runs after crashes and twice.
    attempt(["ip", "netns", "delete", name])


def delete_link(name: str) -> None:
    attempt(["ip", "link", "delete", name])


def add_bridge(name: str, address: str) -> None:
    """The bridge with `address` (a /24); its MAC is fixed for the hosts to pin it
    (see add_host_link), where a bridge would otherwise take one of its ports'."""
    run_tool(
        ["ip", "link", "add", name, "address", mac_for(address), "type", "bridge"],
        what=f"create the bridge {name}",
    )
    run_tool(["ip", "addr", "add", f"{address}/24", "dev", name], what=f"address {name}")
    set_link_state(name, up=True)


def add_host_link(namespace: str, veth: str, bridge: str, *, address: str, gateway: str) -> None:
    """A veth pair from the bridge into the namespace, where its end is `eth0` with
    `address` (a /24) and a default route through the bridge's `gateway` address, so
    that builds on a host reach services of the root namespace.

    Both sides pin each other's MAC so that a downed link never makes ARP fail: the
    kernel would then answer connects with "no route to host" instead of letting
    packets vanish as on a cut cable.
    """
    peer = ["peer", "name", "eth0", "address", mac_for(address), "netns", namespace]
    run_tool(
        ["ip", "link", "add", veth, "type", "veth", *peer],
        what=f"create the veth pair {veth} into {namespace}",
    )
    run_tool(["ip", "link", "set", veth, "master", bridge], what=f"attach {veth} to {bridge}")
    set_link_state(veth, up=True)
    inside = ["ip", "-n", namespace]
    what = f"configure eth0 in {namespace}"
    run_tool([*inside, "addr", "add", f"{address}/24", "dev", "eth0"], what=what)
    run_tool([*inside, "link", "set", "eth0", "up"], what=what)
    run_tool([*inside, "route", "add", "default", "via", gateway], what=what)
    _pin_neighbour(inside, gateway, "eth0")
    _pin_neighbour(["ip"], address, bridge)


def _pin_neighbour(ip: list[str], address: str, device: str) -> None:
    entry = [address, "lladdr", mac_for(address), "dev", device, "nud", "permanent"]
    run_tool([*ip, "neigh", "replace", *entry], what=f"pin the MAC of {address} on {device}")


def set_link_state(name: str, *, up: bool) -> None:
    state = "up" if up else "down"
    run_tool(["ip", "link", "set", name, state], what=f"set the link {name} {state}")


def pids(namespace: str) -> list[int]:
    """The processes in a namespace; none when it does not exist (any more)."""
    completed = attempt(["ip", "netns", "pids", namespace])
    if completed.returncode != 0:
        return []
    return [int(pid) for pid in completed.stdout.split()]


def exec_args(namespace: str, args: list[str]) -> list[str]:
    return ["ip", "netns", "exec", namespace, *args]


def mac_for(address: str) -> str:
    """A locally administered MAC derived from the IPv4 address, unique across labs."""
    octets = [int(octet) for octet in address.split(".")]
    return ":".join(f"{octet:02x}" for octet in [0x02, 0x00, *octets])
