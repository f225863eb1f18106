"""What `config/` needs from a driver to check and build its configuration elements.

A driver's configuration is two specs and two builders:

connection_spec
    The pydantic spec of its `- connection:` element: a `ConnectionSpec` (so it has
    `name` and `driver`) whose `driver` field accepts the driver's own name. A
    connection that names no driver is the default driver's (drivers/registry.py).
trigger_spec
    The spec of one trigger rule of a pipeline on such a connection
    (`trigger: {<connection>: [<rule>, ...]}`).
connection(spec, path)
    The model's connection object, given the checked spec and `path`, which turns a
    path as written (relative to the element's file, `~` for the home) into a Path.
trigger(spec, context)
    The model's trigger object for one checked rule; `context` holds the plain values
    of the rest of the configuration a rule may depend on.

`config/` validates each element with the spec (its errors carry file:line:column),
calls the builder with the result, and never names a driver; a driver never imports
`config/`. Drivers are listed by name in drivers/registry.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from crosscheck.specs import Name, Spec


class ConnectionSpec(Spec):
    """The keys every connection element has, whatever its driver."""

    name: Name
    #: Which driver reads the element; each driver's spec narrows it to its own name.
    driver: str


SC = TypeVar("SC", bound=ConnectionSpec)
ST = TypeVar("ST", bound=Spec)

#: A path as written in an element (None when not given) -> the path it names.
PathResolver = Callable[[str | None], Path | None]


@dataclass(frozen=True)
class TriggerContext:
    """What a trigger rule may depend on besides itself."""

    #: The name of the connection the rule listens to.
    connection: str
    #: `run <run_name>` in a review comment asks this CI alone for a build.
    run_name: str


@dataclass(frozen=True)
class DriverConfig(Generic[SC, ST]):
    """A driver's configuration elements: their specs, and the builders of model objects."""

    #: The `driver:` value of its connections.
    name: str
    connection_spec: type[SC]
    trigger_spec: type[ST]
    #: Returns the model's connection (the engine reads a `GerritConnection` today).
    connection: Callable[[SC, PathResolver], object]
    #: Returns one of the model's triggers (the engine matches a `GerritTrigger` today).
    trigger: Callable[[ST, TriggerContext], object]
