"""The results service: CI results as structured data, from any CI.

Layers, top down: transports (`api` REST routes, `verify_status` the plugin's
REST shape, `merges_api` and `audit_api` for admins, `app` all their routers, `ssh`
and `commands` for the SSH command) -> `auth` (who is calling over HTTP) and
`http_errors` (refusals as HTTP answers) -> `service` (the one write path and the
reads; `activity` what accounts did, as the pages show it) -> `accounts`, `records`,
`statistics`, `merges`, `reads`, `audit` (SQL on the store's tables).

It serves data only: the pages (web/) are mounted beside its routers by the apps
in serve/, and read through `ResultsService` like any transport.
"""

from crosscheck.results.service import ResultsService

__all__ = ["ResultsService"]
