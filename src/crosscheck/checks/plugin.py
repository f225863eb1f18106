"""The Checks tab plugin's one file, with its configuration written in.

Gerrit loads every `.js` file of a site's `plugins/` directory as a plugin and gives it no
configuration of its own, so the results service's address (and, for private reads, the
read token) is written into the file: the build leaves one placeholder string for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from crosscheck.errors import CrosscheckError

#: The file's name on a Gerrit site: Gerrit names the plugin after it (`crosscheck-checks`).
PLUGIN_FILE = "crosscheck-checks.js"
#: The one string literal of the built file that stands for the configuration.
PLACEHOLDER = '"__CROSSCHECK_CHECKS_CONFIG__"'
#: Gerrit's default is to poll every minute; a CI's run changes state seldom more often.
DEFAULT_POLL_SECONDS = 60


class PluginNotBuiltError(CrosscheckError):
    """The package lacks the built plugin (a checkout where `npm run build` never ran)."""


@dataclass(frozen=True)
class PluginConfig:
    results_url: str
    read_token: str | None = None
    poll_seconds: int = DEFAULT_POLL_SECONDS

    def as_json(self) -> str:
        return json.dumps(
            {
                "resultsUrl": self.results_url.rstrip("/"),
                "readToken": self.read_token,
                "pollSeconds": self.poll_seconds,
            }
        )


@cache
def built_plugin() -> str:
    """The plugin as built, placeholder and all; read once, not at every download."""
    try:
        return resources.files(__package__).joinpath("static", PLUGIN_FILE).read_text("utf-8")
    except FileNotFoundError:
        raise PluginNotBuiltError(
            f"crosscheck/checks/static/{PLUGIN_FILE} is missing from this installation: "
            "build it with `npm --prefix plugin run build` in a checkout"
        ) from None


def plugin_source(config: PluginConfig) -> str:
    """The plugin file configured for one results service."""
    built = built_plugin()
    if built.count(PLACEHOLDER) != 1:
        raise PluginNotBuiltError(
            f"{PLUGIN_FILE} holds its configuration placeholder {built.count(PLACEHOLDER)} "
            "times, not once: rebuild it with `npm --prefix plugin run build`"
        )
    # A JSON string literal is a JS string literal; ensure_ascii keeps U+2028 out of the file.
    literal = json.dumps(config.as_json(), ensure_ascii=True)
    return built.replace(PLACEHOLDER, literal)
