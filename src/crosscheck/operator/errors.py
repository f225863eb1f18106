"""Why an operator request was refused, each with the HTTP status it is answered with.

OperatorError               every refusal below; its message says what to change
├── NotFoundError           404: no such pipeline, connection, change, patchset or item
├── ConflictError           409: the request does not fit the queues' state
├── InvalidRequestError     422: the request contradicts the configuration
└── GerritUnavailableError  502: Gerrit did not answer the change lookup
"""

from __future__ import annotations

from crosscheck.errors import CrosscheckError


class OperatorError(CrosscheckError):
    status_code = 400


class NotFoundError(OperatorError):
    status_code = 404


class ConflictError(OperatorError):
    status_code = 409


class InvalidRequestError(OperatorError):
    status_code = 422


class GerritUnavailableError(OperatorError):
    status_code = 502
