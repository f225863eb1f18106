"""Why a request on nodes was refused, each with the HTTP status it is answered with.

NodesError                  every refusal below; its message says what to change
├── UnknownNodeError        404: no such node (the message lists them)
├── UnknownAutoholdError    404: no such autohold request
├── NotHeldError            409: release of a node nobody holds
├── LocalSlotsError         409: this host's own slots are not held or drained
├── UnknownJobError         422: an autohold for a job the configuration does not know
└── NoStoreError            503: a pool without a store keeps no autohold request
"""

from __future__ import annotations

from crosscheck.errors import CrosscheckError


class NodesError(CrosscheckError):
    status_code = 400
    #: The body's field the refusal is about, when one is.
    field: str | None = None


class UnknownNodeError(NodesError):
    status_code = 404


class UnknownAutoholdError(NodesError):
    status_code = 404


class NotHeldError(NodesError):
    status_code = 409


class LocalSlotsError(NodesError):
    status_code = 409


class UnknownJobError(NodesError):
    status_code = 422
    field = "job"


class NoStoreError(NodesError):
    status_code = 503
