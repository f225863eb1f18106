"""The `node` and `pod` elements: labels declared, each node in one POD at most, and
every label with a provider.

After labels and the executor (whose `labels` the local slots provide). Each problem is
reported where it was written; a node or POD with one is left out, and the
configuration with it.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from crosscheck.config.context import Context, Entry
from crosscheck.config.issues import Position, did_you_mean
from crosscheck.config.node_schema import NodeSpec, PodSpec
from crosscheck.config.schema import ExecutorSpec
from crosscheck.model.node import JUMP_ROLE, Lab, Pod, SshNode


def build_lab(
    context: Context,
    executor: list[Entry[ExecutorSpec]],
    nodes: list[Entry[NodeSpec]],
    pods: list[Entry[PodSpec]],
) -> None:
    built = {node.name: node for entry in nodes if (node := _node(context, entry))}
    in_pod: dict[str, str] = {}
    made = [pod for entry in pods if (pod := _pod(context, entry, built, in_pod))]
    local = _local_labels(context, executor, list(built.values()), made)
    context.lab = Lab(
        nodes=built,
        pods={pod.name: pod for pod in made},
        local_labels=local,
        check_interval=context.executor.node_check_interval,
    )
    _every_label_provided(context)


def _node(context: Context, entry: Entry[NodeSpec]) -> SshNode | None:
    spec, base = entry.spec, entry.position.path.parent
    if not context.define("node", spec.name, entry.position):
        return None
    if not _labels_declared(context, f"node '{spec.name}'", spec.labels, entry):
        context.broken.add(("node", spec.name))
        return None
    return SshNode(
        name=spec.name,
        host=spec.host,
        user=spec.user,
        port=spec.port,
        key_file=_path(spec.key, base),
        host_key=spec.host_key,
        known_hosts=_path(spec.known_hosts, base),
        labels=tuple(spec.labels),
        max_builds=spec.max_builds,
        work_root=PurePosixPath(spec.work_root) if spec.work_root else None,
        connect_timeout=spec.connect_timeout,
        keepalive=spec.keepalive,
    )


def _pod(
    context: Context, entry: Entry[PodSpec], nodes: dict[str, SshNode], in_pod: dict[str, str]
) -> Pod | None:
    spec = entry.spec
    if not context.define("pod", spec.name, entry.position):
        return None
    ok = _labels_declared(context, f"pod '{spec.name}'", spec.labels, entry)
    where = entry.body.position_of("roles") if "roles" in entry.body else entry.position
    for role, names in spec.roles.items():
        for name in names:
            ok = (
                _pod_member(
                    context,
                    pod=spec.name,
                    role=role,
                    name=name,
                    nodes=nodes,
                    in_pod=in_pod,
                    at=where,
                )
                and ok
            )
    if not ok:
        context.broken.add(("pod", spec.name))
        return None
    roles = {role: tuple(names) for role, names in spec.roles.items()}
    return Pod(spec.name, tuple(spec.labels), roles, spec.run_on or JUMP_ROLE)


def _pod_member(
    context: Context,
    *,
    pod: str,
    role: str,
    name: str,
    nodes: dict[str, SshNode],
    in_pod: dict[str, str],
    at: Position,
) -> bool:
    prefix = f"pod '{pod}': role '{role}'"
    node = nodes.get(name)
    if node is None:
        if not context.is_broken("node", name):
            context.issues.error(
                f"{prefix} names unknown node '{name}'",
                at,
                did_you_mean(name, nodes) or f"define it with '- node: {{name: {name}, ...}}'",
            )
        return False
    if in_pod.get(name) == pod:
        context.issues.error(f"{prefix}: node '{name}' is listed twice in the POD", at)
        return False
    if name in in_pod:
        other = in_pod[name]
        context.issues.error(
            f"{prefix}: node '{name}' is in pod '{other}' already",
            at,
            "a POD takes its nodes whole: give each node to one POD",
        )
        return False
    if node.labels:
        context.issues.error(
            f"{prefix}: node '{name}' has labels of its own ({', '.join(node.labels)})",
            at,
            "a node in a POD is taken with the POD only: remove its labels, and give "
            "them to the POD",
        )
        return False
    in_pod[name] = pod
    context.use("node", name)
    return True


def _labels_declared(
    context: Context, origin: str, labels: list[str], entry: Entry[NodeSpec] | Entry[PodSpec]
) -> bool:
    ok = True
    for label in labels:
        context.use("label", label)
        if label in context.labels or context.is_broken("label", label):
            continue
        context.issues.error(
            f"{origin} provides unknown label '{label}'",
            entry.body.position_of("labels") if "labels" in entry.body else entry.position,
            did_you_mean(label, context.labels) or f"declare it with '- label: {{name: {label}}}'",
        )
        ok = False
    return ok


def _local_labels(
    context: Context, executor: list[Entry[ExecutorSpec]], nodes: list[SshNode], pods: list[Pod]
) -> frozenset[str]:
    """`executor.labels` as written (each declared). Unwritten: every label when there
    is no node or POD at all; none otherwise, so a label meant for a lab never falls back
    to this machine, next to crosscheck's credentials, because a node lost its labels."""
    written = context.executor.labels
    if written is None:
        return frozenset() if nodes or pods else frozenset(context.labels)
    body = executor[0].body
    where = body.position_of("labels") if "labels" in body else executor[0].position
    for label in written:
        context.use("label", label)
        if label not in context.labels and not context.is_broken("label", label):
            context.issues.error(
                f"executor: labels names unknown label '{label}'",
                where,
                did_you_mean(label, context.labels)
                or f"declare it with '- label: {{name: {label}}}'",
            )
    return frozenset(written)


def _every_label_provided(context: Context) -> None:
    for name in sorted(context.labels):
        if context.lab.providers(name):
            continue
        context.issues.error(
            f"label '{name}' has no provider: no node or POD lists it, and executor.labels "
            "does not name it",
            context.position_of("label", name) or Position(Path("?"), 1, 1),
            "add it to a node's or a POD's labels; or, to run its jobs on this machine, "
            f"to the executor's labels: '- executor: {{labels: [{name}]}}'",
        )


def _path(value: str | None, base: Path) -> Path | None:
    """Paths are relative to the file that names them; `~` is the user's home."""
    if value is None:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path
