"""The logs router: text, listings (escaped), gzip inline, nothing outside the root."""

from __future__ import annotations

import gzip
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from crosscheck.logs import logs_router


@pytest.fixture
def root(tmp_path: Path) -> Path:
    logs = tmp_path / "logs"
    build = logs / "42" / "1042" / "3" / "check" / "acme-unit" / "b1"
    (build / "artifacts").mkdir(parents=True)
    (build / "console.log").write_text("2026-11-23 09:05:35.123 | hello\n")
    (build / "artifacts" / "report.html").write_text("<script>alert(1)</script>")
    (build / "artifacts" / "job-output.txt.gz").write_bytes(gzip.compress(b"compressed text\n"))
    (build / "artifacts" / "bundle.tar.gz").write_bytes(gzip.compress(b"not really a tar"))
    (build / "artifacts" / '<img src=x onerror="alert(1)">&.txt').write_text("evil name")
    (tmp_path / "secret.txt").write_text("outside the root")
    (build / "artifacts" / "escape").symlink_to(tmp_path / "secret.txt")
    (build / "artifacts" / "escape-dir").symlink_to(tmp_path)
    (build / "artifacts" / "inside").symlink_to(build / "console.log")
    return logs


def client_for(root: Path) -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(logs_router(root))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://logs.test")


@pytest.fixture
async def client(root: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(root) as http:
        yield http


BUILD = "/logs/42/1042/3/check/acme-unit/b1"


async def test_the_console_is_plain_text(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{BUILD}/console.log")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "2026-11-23 09:05:35.123 | hello\n"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_html_artifacts_may_not_run_scripts(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{BUILD}/artifacts/report.html")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"].startswith("sandbox")


async def test_a_directory_redirects_to_its_slash_then_lists_every_name_escaped(
    client: httpx.AsyncClient,
) -> None:
    redirect = await client.get(f"{BUILD}/artifacts", follow_redirects=False)
    assert redirect.status_code == 308
    assert redirect.headers["location"] == f"{BUILD}/artifacts/"
    page = await client.get(f"{BUILD}/artifacts/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;&amp;.txt" in html
    assert 'href="%3Cimg%20src%3Dx%20onerror%3D%22alert%281%29%22%3E%26.txt"' in html
    assert 'href="job-output.txt.gz"' in html
    assert "escape" not in html.replace("escape-", "")  # links out of the root are not listed
    assert "escape-dir" not in html
    assert 'href="inside"' in html


async def test_the_json_listing(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{BUILD}/?format=json")
    assert response.status_code == 200
    data = response.json()
    assert data["path"] == "42/1042/3/check/acme-unit/b1/"
    assert [(e["name"], e["is_dir"]) for e in data["entries"]] == [
        ("artifacts", True),
        ("console.log", False),
    ]
    assert data["entries"][1]["size"] == len("2026-11-23 09:05:35.123 | hello\n")
    assert data["entries"][0]["href"] == "artifacts/"


async def test_the_root_lists_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/logs/?format=json")
    assert [e["name"] for e in response.json()["entries"]] == ["42"]


async def test_gz_is_served_inline_to_browsers_and_decompressed_for_others(
    client: httpx.AsyncClient,
) -> None:
    url = f"{BUILD}/artifacts/job-output.txt.gz"
    browser = await client.get(url, headers={"Accept-Encoding": "gzip, deflate"})
    assert browser.status_code == 200
    assert browser.headers["content-type"] == "text/plain; charset=utf-8"
    assert browser.headers["content-encoding"] == "gzip"
    assert browser.text == "compressed text\n"  # httpx decodes as a browser would
    plain = await client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == b"compressed text\n"


async def test_archives_are_downloaded_as_they_are(client: httpx.AsyncClient) -> None:
    response = await client.get(
        f"{BUILD}/artifacts/bundle.tar.gz", headers={"Accept-Encoding": "gzip"}
    )
    assert response.headers["content-type"] == "application/gzip"
    assert "content-encoding" not in response.headers
    assert gzip.decompress(response.content) == b"not really a tar"


@pytest.mark.parametrize(
    "path",
    [
        "/logs/../secret.txt",
        "/logs/%2E%2E/secret.txt",
        "/logs/42/..%2F..%2F../secret.txt",
        f"{BUILD}/artifacts/escape",
        f"{BUILD}/artifacts/escape-dir/secret.txt",
        f"{BUILD}/artifacts/escape-dir/",
        f"{BUILD}/nothing-here",
        "/logs//etc/passwd",
    ],
)
async def test_nothing_outside_the_root_is_served(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404, (path, response.text)
    assert "outside the root" not in response.text


async def test_links_inside_the_root_are_followed(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"{BUILD}/artifacts/inside")).text.endswith("hello\n")


async def test_head_requests(client: httpx.AsyncClient) -> None:
    response = await client.head(f"{BUILD}/console.log")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len("2026-11-23 09:05:35.123 | hello\n"))


async def test_a_missing_root_is_404_not_an_error(tmp_path: Path) -> None:
    async with client_for(tmp_path / "nowhere") as http:
        assert (await http.get("/logs/")).status_code == 404
    assert not os.path.exists(tmp_path / "nowhere")
