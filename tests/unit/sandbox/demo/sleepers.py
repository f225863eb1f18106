"""Stand-ins for `crosscheck serve` that BackgroundServe can start and stop."""

from __future__ import annotations

import sys
from collections.abc import Callable

from crosscheck.sandbox.demo import BackgroundServe

#: Sleeps like a serve that never exits; `serve ARGS` end up in its argv, as with the real one.
SLEEPER = (sys.executable, "-c", "import time; time.sleep(120)")
#: A serve that ignores SIGTERM, so only SIGKILL stops it.
STUBBORN = (
    sys.executable,
    "-c",
    "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('ready', flush=True); time.sleep(120)",
)

#: make_serve(directory, command=SLEEPER)
ServeFactory = Callable[..., BackgroundServe]
