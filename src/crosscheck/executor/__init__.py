"""The executor: runs one build of one job on a node, with its workspace, console and logs.

The scheduler calls `Executor.run(request)`; see executor.py for the flow and
nodes.py for the node provider interface.
"""

from crosscheck.executor.executor import BuildStarted, Executor
from crosscheck.executor.local import LocalNodeProvider
from crosscheck.executor.mirrors import MirrorCache
from crosscheck.executor.nodes import Node, NodeProvider
from crosscheck.executor.settings import executor_from_config, resolve

__all__ = [
    "BuildStarted",
    "Executor",
    "LocalNodeProvider",
    "MirrorCache",
    "Node",
    "NodeProvider",
    "executor_from_config",
    "resolve",
]
