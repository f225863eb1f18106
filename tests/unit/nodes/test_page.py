"""/nodes: what each node shows, everything escaped, nothing that could run."""

from __future__ import annotations

from pathlib import Path

from .harness import ADMIN, nodes_api

HOSTILE = "<script>alert(1)</script>"
HOSTILE_NAME = '"><img src=x onerror=alert(2)>'


async def test_a_held_node_shows_who_why_and_its_build_links_to_its_console(
    tmp_path: Path,
) -> None:
    async with nodes_api(tmp_path) as api:
        await api.http.post(
            "/api/v1/nodes/lab-1/hold", json={"reason": "rma", "by": "alice"}, headers=ADMIN
        )
        await api.http.post("/api/v1/nodes/lab-2/drain", headers=ADMIN)
        api.pool.runtime("lab-2").builds[0] = "b-17"
        page = await api.http.get("/nodes")
    assert page.status_code == 200
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    html = page.text
    assert '<tr class="node state-held" data-node="lab-1">' in html
    assert '<td class="held-by">alice</td>' in html
    assert '<td class="hold-reason">rma</td>' in html
    assert '<td class="hold-until">until released</td>' in html
    assert '<tr class="node state-in-use" data-node="lab-2">' in html
    assert '<a href="/builds/b-17/console">b-17</a>' in html
    assert '<td class="drained">drained</td>' in html
    assert '<link rel="alternate" type="application/json" href="/api/v1/nodes">' in html
    assert 'id="no-autoholds"' in html


async def test_a_hostile_reason_and_node_name_are_escaped(tmp_path: Path) -> None:
    async with nodes_api(tmp_path, names=(HOSTILE_NAME, "lab-2")) as api:
        await api.http.post(
            "/api/v1/nodes/lab-2/hold", json={"reason": HOSTILE, "by": HOSTILE}, headers=ADMIN
        )
        api.pool.runtime("lab-2").builds[0] = "../x?y=<b>"
        await api.http.post(
            "/api/v1/autoholds", json={"job": "acme-nfs", "reason": HOSTILE}, headers=ADMIN
        )
        html = (await api.http.get("/nodes")).text
    assert "<script>" not in html
    assert "<img" not in html
    assert "<b>" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3  # why, by, autohold
    assert 'data-node="&#34;&gt;&lt;img src=x onerror=alert(2)&gt;"' in html
    # One path segment, whatever the build id holds.
    assert 'href="/builds/..%2Fx%3Fy%3D%3Cb%3E/console"' in html
