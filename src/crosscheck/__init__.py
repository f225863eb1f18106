"""crosscheck: third-party CI for Gerrit.

Test changes under review on hardware you own, report structured results back
without burying human reviewers, and promote what passed up to a release.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("crosscheck")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
