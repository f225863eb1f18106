"""The lab's one error: what could not be done, and how to make it work."""

from __future__ import annotations

from crosscheck.errors import CrosscheckError


class LabError(CrosscheckError):
    """The lab of sshd hosts could not be made, changed or taken down."""
