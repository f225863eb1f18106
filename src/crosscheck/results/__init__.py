"""The results service: CI results as structured data, from any CI.

Layers, top down: transports (`api` REST routes, `verify_status` the plugin's
REST shape, `ssh` and `commands` for the SSH command, `app` the standalone app)
-> `auth` (who is calling) -> `service` (the one write path and the reads)
-> `accounts`, `records`, `statistics` (SQL on the store's tables).
"""

from crosscheck.results.service import ResultsService

__all__ = ["ResultsService"]
