"""The pydantic base and the shared field validators of configuration elements.

`config/` (the elements crosscheck itself defines) and each driver's own elements
(`drivers/<name>/config.py`: a connection, its trigger rules) are written with these,
so a name, a regex, a duration or an inline secret is refused with the same words
wherever it appears. This package sits below `drivers/`: it imports only pydantic,
the standard library, `crosscheck.model` and `crosscheck.errors`.
"""

from crosscheck.specs.base import Spec, no_inline, one_source
from crosscheck.specs.fields import (
    Branch,
    Duration,
    Glob,
    Name,
    Period,
    Port,
    Regex,
    Size,
    as_list,
)

__all__ = [
    "Branch",
    "Duration",
    "Glob",
    "Name",
    "Period",
    "Port",
    "Regex",
    "Size",
    "Spec",
    "as_list",
    "no_inline",
    "one_source",
]
