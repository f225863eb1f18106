"""`crosscheck serve`: run the whole CI in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from pathlib import Path

import click

from crosscheck.cli.logs import configure_command, log_options
from crosscheck.cli.options import config_option, database_option
from crosscheck.http.sockets import ListenError
from crosscheck.paths import default_config_paths
from crosscheck.serve.memory import limit_malloc_arenas

#: The exit status when the web server's address cannot be taken (nothing was started),
#: as for a wrong option: what to pass instead is in the message.
LISTEN_FAILED = 2
#: The exit status when the store cannot be opened (nothing was started): a wrong
#: --database, or a database server that is down.
STORE_FAILED = 1


@click.command()
@config_option
@database_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Web server address.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--public-url", help="URL users reach the web server at, for links in reports.")
@log_options(env=False)
def serve(
    config_paths: tuple[Path, ...],
    database: str | None,
    host: str,
    port: int,
    public_url: str | None,
    verbose: int,
    quiet: int,
    log_format: str | None,
) -> None:
    """Listen to Gerrit, run jobs, report back; serve webhooks, logs, the operator API,
    the results service and /metrics.

    Logs at INFO, one line per record, to stderr (-v for debug, -q for warnings only).
    """
    configure_command(logging.INFO, verbose, quiet, log_format)
    _without_httpx_command_line()
    limit_malloc_arenas()
    from crosscheck.serve.lifecycle import serve as run  # noqa: PLC0415 - keeps `--help` fast
    from crosscheck.serve.wiring import ServeOptions  # noqa: PLC0415
    from crosscheck.store.engine import StoreError  # noqa: PLC0415

    options = ServeOptions(
        config_paths=list(config_paths) or default_config_paths(),
        database_url=database,
        host=host,
        port=port,
        public_url=public_url,
    )
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run(options))
    except ListenError as error:  # one line, no traceback: the operator knows what to do
        click.echo(f"crosscheck serve: {error}", err=True)
        raise SystemExit(LISTEN_FAILED) from None
    except StoreError as error:  # the URL's password is hidden in the message
        click.echo(f"crosscheck serve: {error}", err=True)
        raise SystemExit(STORE_FAILED) from None


def _without_httpx_command_line() -> None:
    """`import httpx` imports httpx's own command line (rich, pygments, about 3 MiB)
    whenever those are installed, as they are for crosscheck's; serve never runs it,
    and a long-running process would hold it for nothing. A None entry makes that one
    import fail, which httpx expects (it then defines a stub)."""
    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
