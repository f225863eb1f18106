"""HTTP pieces shared by every web app below the composition roots: located problems
and the error bodies made of them, the storable-input guard, the access log,
/metrics, the listening socket, and the clients' reading of error answers.

Nothing here knows a service: each maps its own refusals onto `LocatedHTTPError`
(errors.py), so this package imports no crosscheck package but the leaves.
"""
