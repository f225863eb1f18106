"""`crosscheck promotion approve`: a release manager approves a candidate for a level.

It goes through serve's API, as the account the token is of, so the engine decides at
once; the level must name that account among its approvers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import click
import httpx

from crosscheck.cli.options import server_and_token
from crosscheck.cli.report import ReportError, token_of
from crosscheck.http.error_message import error_message


@click.command()
@click.argument("scenario_name", metavar="SCENARIO")
@click.argument("level_name", metavar="LEVEL")
@click.argument("candidate", metavar="CANDIDATE")
@server_and_token(
    "serve's web server, e.g. https://ci.example.org",
    "A file holding the approver's token (a results service account's).",
)
@click.option("--comment", default="", help="Why: kept with the approval.")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for serve.")
def approve(
    scenario_name: str,
    level_name: str,
    candidate: str,
    server: str,
    token_file: Path | None,
    token_env: str,
    comment: str,
    timeout: float,
) -> None:
    """Approve CANDIDATE (its id, or its first 7+ hex digits) for LEVEL of SCENARIO."""
    token = token_of(token_file, token_env)
    base = server.rstrip("/")
    with httpx.Client(base_url=base, timeout=timeout,
                      headers={"Authorization": f"Bearer {token}"}) as http:  # fmt: skip
        explained = _call(
            http, "GET", _explain_path(scenario_name, level_name), {"candidate": candidate}
        )
        full = str(explained["candidate"])
        answer = _call(http, "POST", f"/api/v1/candidates/{full}/approvals",
                       json={"level": level_name, "comment": comment})  # fmt: skip
    said = "approved" if answer["recorded"] else "already approved"
    click.echo(f"{said} {scenario_name} {level_name} for candidate {full} as {answer['account']}")


def _explain_path(scenario: str, level: str) -> str:
    return f"/api/v1/scenarios/{quote(scenario, safe='')}/levels/{quote(level, safe='')}/explain"


def _call(
    http: httpx.Client,
    method: str,
    path: str,
    params: dict[str, str] | None = None,
    json: dict[str, Any] | None = None,
) -> Any:
    try:
        answer = http.request(method, path, params=params, json=json)
    except httpx.HTTPError as error:
        raise ReportError(f"cannot reach serve at {http.base_url}: {error}") from error
    if answer.is_success:
        return answer.json()
    raise ReportError(f"serve refused ({answer.status_code}): {error_message(answer)}")
