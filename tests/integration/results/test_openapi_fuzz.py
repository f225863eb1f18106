"""A property-based fuzz of the results service's whole OpenAPI, on SQLite and PostgreSQL.

Schemathesis generates requests from the OpenAPI document the service publishes
(valid ones and, in its negative mode, invalid ones) and sends them to a real
server on 127.0.0.1; a test fails on any 5xx, and on any answer the document does
not describe (status code, content type or body). Admin routes get the admin
token, every other route a CI account's token. Bounded in time: a few dozen
examples per operation, without shrinking.
"""

from __future__ import annotations

from typing import Any

import hypothesis
import schemathesis
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.results.live_service import LiveService, live_service

ADMIN_TAG = "accounts (admin)"
XSSI_LINE = b")]}'\n"
#: Examples per operation and mode: about 25 operations, two modes, two stores.
EXAMPLES = 40
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def fuzz_operation(
    operation: APIOperation[Any, Any, Any, Any], mode: GenerationMode, service: LiveService
) -> list[str]:
    """Runs one operation's examples; the failures found, described (none: it held)."""
    token = service.admin_token if ADMIN_TAG in (operation.tags or []) else service.ci_token
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []

    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        # No shrinking: it could take minutes; the failure's own case is shown instead.
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(mode))
    def run(case: Case[Any]) -> None:
        response = case.call(headers=headers, timeout=30)
        strip_gerrit_prefix(response)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (AssertionError, BaseExceptionGroup) as failure:
            found = failure.exceptions if isinstance(failure, BaseExceptionGroup) else [failure]
            what = "; ".join(str(f) for f in found)
            described = (
                f"{mode.value} {operation.label} -> {response.status_code}: {what}\n"
                f"  {case.as_curl_command()}\n  {response.text[:300]}"
            )
            if described not in failures:  # Hypothesis replays the failing case once more
                failures.append(described)
            raise AssertionError(what) from failure

    try:
        run()
    except AssertionError:
        pass  # described in `failures`
    except hypothesis.errors.Unsatisfiable:
        # Nothing to make invalid: an operation without parameters or body.
        if mode is GenerationMode.POSITIVE:
            raise
    return failures


def strip_gerrit_prefix(response: Response) -> None:
    """The verify-status GET answers as Gerrit and its plugin do: a `)]}'` line, then the
    JSON its document describes. Every Gerrit client strips that line first; so does this,
    before the schema checks read the body."""
    if response.status_code == 200 and response.content.startswith(XSSI_LINE):
        response.content = response.content[len(XSSI_LINE) :]
        response.content_size = len(response.content)


def test_no_input_gets_a_5xx_or_an_undocumented_answer(store_url: str) -> None:
    with live_service(store_url) as service:
        api = schemathesis.openapi.from_url(f"{service.base_url}/openapi.json")
        api.config.update(base_url=service.base_url)
        operations = []
        for result in api.get_all_operations():
            assert isinstance(result, Ok), result  # the document itself is sound
            operations.append(result.ok())
        assert len(operations) > 20  # the whole API, not an empty document
        failures = [
            failure
            for operation in operations
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
            for failure in fuzz_operation(operation, mode, service)
        ]
    assert not failures, "\n\n".join(failures)
