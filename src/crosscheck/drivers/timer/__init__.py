"""The timer driver: periodic pipelines fire at their cron schedules (UTC).

schedule.py   when a cron schedule fires: the next time, the latest in a window
targets.py    due rules and the project entries they fire for; pure
branches.py   project entries -> branch tips, through each connection's ProjectSource
source.py     TimerEventSource: each pass fires what is due into the intake
"""

from crosscheck.drivers.timer.source import SystemClock, TimerEventSource

__all__ = ["SystemClock", "TimerEventSource"]
