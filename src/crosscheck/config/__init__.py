"""YAML to the model: loading with positions, validation, templates, inheritance.

`load_config(paths)` is the entry point; it returns the model and every issue found.
"""

from crosscheck.config.issues import ConfigIssue, Position, Severity
from crosscheck.config.loader import LoadResult, load_config

__all__ = ["ConfigIssue", "LoadResult", "Position", "Severity", "load_config"]
