"""Build logs: served over HTTP at stable URLs, pruned after a retention period."""

from crosscheck.logs.prune import PruneResult, prune_logs, prune_periodically
from crosscheck.logs.router import logs_router

__all__ = ["PruneResult", "logs_router", "prune_logs", "prune_periodically"]
