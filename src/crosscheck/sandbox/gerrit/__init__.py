"""A real, local Gerrit for trying crosscheck and for its end-to-end tests.

`Sandbox` (in `manager`) is the entry point: `up`, `down`, `status`, `info`.
`SandboxRepo` (in `push`) pushes changes to a sandbox project.
"""

from crosscheck.sandbox.gerrit.manager import Sandbox, SandboxStatus
from crosscheck.sandbox.gerrit.push import PushedChange, SandboxRepo
from crosscheck.sandbox.gerrit.state import SandboxState

__all__ = ["PushedChange", "Sandbox", "SandboxRepo", "SandboxState", "SandboxStatus"]
