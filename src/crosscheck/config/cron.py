"""Cron schedules as the configuration takes them (timer triggers, scenario snapshots)."""

from __future__ import annotations

CRON_FIELDS = 5


def cron_schedule(value: str) -> str:
    """A five-field cron schedule (UTC), as timer triggers and scenario snapshots take."""
    if "H" in value.split():
        raise ValueError(
            f"{value!r}: Jenkins' 'H' is not supported; give the minute and hour, e.g. '17 2 * * *'"
        )
    # Imported here: croniter brings dateutil, which a configuration without timers never needs.
    from croniter import croniter  # noqa: PLC0415

    if len(value.split()) != CRON_FIELDS or not croniter.is_valid(value):
        raise ValueError(
            f"{value!r} is not a cron schedule: five fields (minute hour day "
            "month weekday, UTC), e.g. '0 2 * * *'"
        )
    return value
