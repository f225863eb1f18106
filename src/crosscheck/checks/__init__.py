"""Gerrit's Checks tab: the JS plugin crosscheck ships (built from plugin/ into static/),
configured with the results service's address, and served (router.py) or written for a
Gerrit site. The package itself imports no web framework, for the CLI's sake.
"""

from crosscheck.checks.plugin import PLUGIN_FILE, PluginConfig, PluginNotBuiltError, plugin_source

__all__ = ["PLUGIN_FILE", "PluginConfig", "PluginNotBuiltError", "plugin_source"]
