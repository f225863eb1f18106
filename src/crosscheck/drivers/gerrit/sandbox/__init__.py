"""A real, local Gerrit for trying crosscheck and for its end-to-end tests.

`Sandbox` (in `manager`) is the entry point: `up`, `down`, `status`, `info`.
`SandboxRepo` (in `push`) pushes changes to a sandbox project.
"""

from crosscheck.drivers.gerrit.sandbox.manager import Sandbox, SandboxStatus
from crosscheck.drivers.gerrit.sandbox.push import PushedChange, SandboxRepo
from crosscheck.drivers.gerrit.sandbox.state import SandboxState

__all__ = ["PushedChange", "Sandbox", "SandboxRepo", "SandboxState", "SandboxStatus"]
