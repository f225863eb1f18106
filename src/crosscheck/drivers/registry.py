"""The drivers `config/` knows, by the name a connection element gives in `driver:`.

A connection that names no driver is `DEFAULT`'s. Adding a driver is one entry here
(its `DriverConfig`, see drivers/config.py); `config/` looks every connection's
driver up in `DRIVERS` and names none of them.
"""

from __future__ import annotations

from typing import Any

from crosscheck.drivers.config import DriverConfig
from crosscheck.drivers.gerrit.config import GERRIT

#: The driver of a connection element without `driver:`.
DEFAULT = GERRIT.name

DRIVERS: dict[str, DriverConfig[Any, Any]] = {GERRIT.name: GERRIT}
