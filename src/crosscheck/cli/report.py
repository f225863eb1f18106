"""`crosscheck report`: report a CI result to a results service, from any CI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import httpx

from crosscheck.cli.options import server_and_token
from crosscheck.config.secrets import read_secret
from crosscheck.errors import CrosscheckError
from crosscheck.http.error_message import error_message

#: The exit status of a report that was not stored for now (the service unreachable,
#: busy or down: 429, 5xx) and may be sent again as it is.
RETRY_LATER = 3


class ReportError(CrosscheckError):
    """The results service could not be reached or refused the report; `exit_code` 1
    for a refusal (fix the report), RETRY_LATER for a report to send again later."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@click.command()
@server_and_token(
    "The results service, e.g. https://results.example.org",
    "A file holding the CI account's token.",
)
@click.option(
    "--batch",
    "batch_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help='A JSON file: {"results": [{...}, ...]} or a list; all stored or none.',
)
@click.option(
    "--candidate",
    metavar="HASH",
    help="Report on a promotion candidate (its 64-hex id) instead of a patchset.",
)
@click.option("--project", help="Gerrit project, e.g. openstack/nova.")
@click.option("--change", type=int, help="Change number.")
@click.option("--patchset", type=int, help="Patchset number.")
@click.option("--job", help="Job name.")
@click.option(
    "--result", "value", help="passed, failed, unstable, in_progress, skipped or not_registered."
)
@click.option("--url", help="Where the logs are.")
@click.option("--duration", help="Seconds, or 1h 2m 3s.")
@click.option("--non-voting", is_flag=True, help="The job does not vote.")
@click.option("--category", help="A free category, e.g. the driver tested.")
@click.option("--rerun", is_flag=True, help="This run is a re-run.")
@click.option("--comment", help="A short comment.")
@click.option("--branch", help="The change's branch.")
@click.option("--revision", help="The patchset's commit id.")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for the server.")
def report(
    server: str,
    token_file: Path | None,
    token_env: str,
    batch_file: Path | None,
    timeout: float,
    candidate: str | None,
    **fields: Any,
) -> None:
    """Report job results to a crosscheck results service.

    \b
    crosscheck report --server URL --token-file F --project P --change N \\
        --patchset P --job NAME --result passed --url URL --duration 1m30s
    crosscheck report --server URL --token-file F --batch results.json
    crosscheck report --server URL --token-file F --candidate HASH \\
        --job NAME --result passed --url URL
    """  # fmt: skip
    token = token_of(token_file, token_env)
    if candidate is not None:
        path, body = _on_candidate(candidate, batch_file, fields)
    elif batch_file is not None:
        path, body = "/api/v1/results/batch", _batch(batch_file)
    else:
        path, body = "/api/v1/results", _single(fields)
    answer = _post(server, path, body, token, timeout)
    stored = answer.get("results", [answer])
    click.echo(f"stored {len(stored)} result(s): " + ", ".join(str(r["id"]) for r in stored))


def token_of(token_file: Path | None, token_env: str) -> str:
    if token_file is not None:
        token = read_secret("the CI account's token", None, token_file)
    else:
        token = read_secret(
            f"the CI account's token (--token-file, or ${token_env})", token_env, None
        )
    if token is None:  # pragma: no cover -- read_secret returns or raises when one is named
        raise click.UsageError("give --token-file")
    return token


def _single(fields: dict[str, Any]) -> dict[str, Any]:
    required = {"project": "--project", "change": "--change", "patchset": "--patchset",
                "job": "--job", "value": "--result"}  # fmt: skip
    missing = [option for name, option in required.items() if fields[name] is None]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)} (or give --batch FILE)")
    body = {name: value for name, value in fields.items() if value is not None}
    body["voting"] = not body.pop("non_voting")
    return body


#: What a result on a candidate cannot say: it is on no change.
_PATCHSET_ONLY = {
    name: f"--{name}"
    for name in ("project", "change", "patchset", "branch", "revision", "category")
}


def _on_candidate(
    candidate: str, batch_file: Path | None, fields: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    candidate = candidate.lower()
    if len(candidate) != 64 or any(c not in "0123456789abcdef" for c in candidate):  # noqa: PLR2004
        raise click.BadParameter(
            f"{candidate!r}: a candidate is named by its whole id, 64 hex digits "
            "(`crosscheck promotion explain SCENARIO LEVEL --json` and the /promotion "
            "pages show them)",
            param_hint="--candidate",
        )
    given = [option for name, option in _PATCHSET_ONLY.items() if fields[name] is not None]
    if fields["non_voting"] or fields["rerun"]:
        given.append("--non-voting" if fields["non_voting"] else "--rerun")
    if given:
        raise click.UsageError(f"{', '.join(given)}: not for a result on a candidate")
    if batch_file is not None:
        return f"/api/v1/candidates/{candidate}/results", _batch(batch_file)
    missing = [o for n, o in (("job", "--job"), ("value", "--result")) if fields[n] is None]
    if missing:
        raise click.UsageError(f"missing {', '.join(missing)} (or give --batch FILE)")
    body = {n: fields[n] for n in ("job", "value", "url", "duration", "comment") if fields[n]}
    return f"/api/v1/candidates/{candidate}/results", {"results": [body]}


def _batch(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise click.BadParameter(
            f"{path}: not readable JSON: {error}", param_hint="--batch"
        ) from error
    return {"results": data} if isinstance(data, list) else data


def _post(server: str, path: str, body: dict[str, Any], token: str, timeout: float) -> Any:
    url = server.rstrip("/") + path
    try:
        answer = httpx.post(
            url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )
    except httpx.HTTPError as error:
        raise ReportError(
            f"cannot reach the results service at {url}: {error}; not stored, send it again",
            exit_code=RETRY_LATER,
        ) from error
    if answer.is_success:
        return answer.json()
    status = answer.status_code
    if status == httpx.codes.TOO_MANY_REQUESTS or status >= httpx.codes.INTERNAL_SERVER_ERROR:
        raise ReportError(
            f"the results service could not take the report now ({status}), it was not "
            f"stored: {error_message(answer)}",
            exit_code=RETRY_LATER,
        )
    raise ReportError(f"the results service refused the report ({status}): {error_message(answer)}")
