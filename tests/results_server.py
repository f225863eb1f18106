"""Waiting for a `crosscheck results serve` subprocess to answer, for the tests that run one."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest


def wait_until_serving(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    """Until its OpenAPI document answers; the test fails with its log if it exits or
    stays silent for a minute."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"results serve exited: {log_path.read_text()}")
        try:
            if httpx.get(f"{url}/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"results serve did not answer: {log_path.read_text()}")
