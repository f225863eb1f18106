"""The README's first command: the whole CI loop on the sandbox Gerrit.

`run_demo` (in `flow`) checks the example configuration against the sandbox's
connection, (re)starts one background `crosscheck serve` for the sandbox
(`BackgroundServe`, in `background`), pushes a sample change and waits for the
CI's vote and message on it.
"""

from crosscheck.sandbox.demo.background import BackgroundServe
from crosscheck.sandbox.demo.flow import DemoOptions, DemoResult, run_demo

__all__ = ["BackgroundServe", "DemoOptions", "DemoResult", "run_demo"]
