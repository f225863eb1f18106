"""A stand-in for Gerrit's web UI, which the sandbox lacks: a page that hosts the Checks
tab plugin through the plugin API's documented entry points, on an origin of its own.

Gerrit's UI bundle is not served by any registry this project installs from (Maven
Central's mirror has no `gerrit-war`), so the sandbox Gerrit is headless. This page does
what Gerrit's UI does with a checks plugin and no more:

- `window.Gerrit.install(callback)` hands the plugin a plugin object;
- `plugin.checks().register(provider, config)` records the provider;
- the page calls `provider.fetch(changeData)` for a change and renders the runs the way
  Gerrit's lit templates do: strings as text, link URLs into `href` unchanged (so what
  keeps a `javascript:` URL out is the plugin, not this page);
- an action's `callback(change, patchset, attempt, externalId, checkName, name)` runs as
  Gerrit runs it, and `plugin.restApi().post(url, body)` goes to Gerrit's REST API on the
  page's own origin as the signed-in user: here a proxy to the real sandbox Gerrit with
  one user's credentials.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

HOST_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>checks host</title></head>
<body><div id="runs"></div>
<script>
window.__host = {providers: [], last: null, change: null};
window.Gerrit = {
  install(callback) {
    const plugin = {
      getPluginName: () => 'crosscheck-checks',
      checks: () => ({
        register(provider, config) { __host.providers.push({provider, config}); },
        announceUpdate() {},
        updateResult() {},
      }),
      restApi: () => ({
        async post(url, payload) {
          const answer = await fetch('/gerrit' + url, {
            method: 'POST',
            headers: {'Content-Type': 'application/json'},
            body: JSON.stringify(payload),
          });
          const text = await answer.text();
          if (!answer.ok) throw new Error(`Gerrit answered ${answer.status}: ${text}`);
          return JSON.parse(text.replace(/^\\)\\]\\}'\\n/, ''));
        },
      }),
    };
    callback(plugin);
  },
};
function text(parent, tag, cls, value) {
  const element = document.createElement(tag);
  element.className = cls;
  element.textContent = value === undefined ? '' : String(value);
  parent.appendChild(element);
  return element;
}
function link(parent, cls, url) {
  const anchor = document.createElement('a');
  anchor.className = cls;
  anchor.setAttribute('href', url);
  anchor.textContent = url;
  parent.appendChild(anchor);
}
__host.render = (response) => {
  const root = document.getElementById('runs');
  root.replaceChildren();
  text(root, 'div', 'error', response.errorMessage);
  for (const run of response.runs || []) {
    const box = document.createElement('div');
    box.className = 'run';
    root.appendChild(box);
    text(box, 'span', 'name', run.checkName);
    text(box, 'span', 'description', run.checkDescription);
    text(box, 'span', 'status', run.status + ' ' + (run.statusDescription || ''));
    if (run.checkLink) link(box, 'check-link', run.checkLink);
    if (run.statusLink) link(box, 'status-link', run.statusLink);
    for (const result of run.results || []) {
      text(box, 'span', 'summary', result.summary);
      text(box, 'pre', 'message', result.message);
      for (const l of result.links || []) link(box, 'result-link', l.url);
    }
  }
};
__host.summary = (response) => ({
  responseCode: response.responseCode,
  errorMessage: response.errorMessage || null,
  links: (response.links || []).map((l) => l.url),
  runs: (response.runs || []).map((run) => ({
    checkName: run.checkName,
    status: run.status,
    statusDescription: run.statusDescription || null,
    statusLink: run.statusLink || null,
    checkLink: run.checkLink || null,
    actions: (run.actions || []).map((a) => a.name),
    results: (run.results || []).map((r) => ({
      category: r.category,
      summary: r.summary,
      message: r.message || null,
      links: (r.links || []).map((l) => l.url),
      tags: (r.tags || []).map((t) => t.name),
    })),
  })),
});
__host.fetch = async (change) => {
  if (__host.providers.length !== 1) throw new Error(`${__host.providers.length} providers`);
  __host.change = change;
  __host.last = await __host.providers[0].provider.fetch(change);
  __host.render(__host.last);
  return __host.summary(__host.last);
};
__host.act = async (checkName, name) => {
  const run = __host.last.runs.find((r) => r.checkName === checkName);
  const action = (run.actions || []).find((a) => a.name === name);
  const c = __host.change;
  return await action.callback(
    c.changeNumber, c.patchsetNumber, run.attempt, run.externalId, run.checkName, name);
};
</script>
<script src="PLUGIN_SRC"></script>
</body></html>
"""


@dataclass(frozen=True)
class GerritUser:
    """Who the page's REST calls are made as: Gerrit's session, stood in for."""

    url: str
    username: str
    http_password: str


@contextmanager
def checks_host(
    plugin_src: str, plugin_file: Path | None = None, gerrit: GerritUser | None = None
) -> Iterator[str]:
    """The host page on a free loopback port; yields its origin (`http://127.0.0.1:N`).

    `plugin_src` is the script's address: a results service's own `/plugins/...`, or
    `/plugins/crosscheck-checks.js`, served from `plugin_file` as a Gerrit site serves
    the files of its plugins/ directory.
    """
    page = HOST_PAGE.replace("PLUGIN_SRC", plugin_src).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/":
                self._answer(200, page, "text/html")
            elif self.path == "/plugins/crosscheck-checks.js" and plugin_file is not None:
                self._answer(200, plugin_file.read_bytes(), "text/javascript")
            else:
                self._answer(404, b"not found", "text/plain")

        def do_POST(self) -> None:
            if gerrit is None or not self.path.startswith("/gerrit/"):
                self._answer(404, b"not found", "text/plain")
                return
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            secret = base64.b64encode(f"{gerrit.username}:{gerrit.http_password}".encode())
            answer = httpx.post(
                gerrit.url.rstrip("/") + "/a" + self.path.removeprefix("/gerrit"),
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Basic {secret.decode()}",
                },
                timeout=30,
            )
            self._answer(answer.status_code, answer.content, "application/json")

        def _answer(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="checks-host", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
