"""The sandbox's and the demo's errors.

CrosscheckError
├── SandboxError                the local sandbox Gerrit could not be set up, started or stopped
│   └── SandboxNotInitializedError  no sandbox exists yet in the state directory
└── DemoError                   the demo's CI loop did not come round (serve died, no report)
"""

from __future__ import annotations

from crosscheck.errors import CrosscheckError


class SandboxError(CrosscheckError):
    """The sandbox Gerrit could not be set up, started or stopped."""


class SandboxNotInitializedError(SandboxError):
    """No sandbox exists yet in the state directory."""


class DemoError(CrosscheckError):
    """The demo's CI loop did not come round: the serve died, or no report arrived in time."""
