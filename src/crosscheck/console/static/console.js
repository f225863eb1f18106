// A running build's console page: follows the build's event stream and appends each
// line as the server rendered it (console/lines.py: its text escaped, its colours as
// spans of fixed classes), until the `end` event says how the build ended.
"use strict";

(() => {
  const follow = document.getElementById("follow");
  if (!follow) {
    return;
  }
  const body = document.querySelector("#console tbody");
  const state = document.getElementById("state");
  const pending = [];
  let flushing = false;

  // A page opened at a line (#L12) stays there; otherwise it starts at the bottom.
  if (!location.hash) {
    window.scrollTo(0, document.documentElement.scrollHeight);
  }

  function atBottom() {
    const page = document.documentElement;
    return window.innerHeight + window.scrollY >= page.scrollHeight - 8;
  }

  function row(line) {
    const tr = document.createElement("tr");
    tr.id = "L" + line.n;
    const number = document.createElement("td");
    number.className = "n";
    const link = document.createElement("a");
    link.href = "#L" + line.n;
    link.textContent = String(line.n);
    number.append(link);
    const time = document.createElement("td");
    time.className = "t";
    time.textContent = line.time;
    time.title = line.stamp;
    const text = document.createElement("td");
    text.className = "l";
    text.innerHTML = line.html; // escaped by the server: only its spans are markup
    tr.append(number, time, text);
    return tr;
  }

  // Lines come in bursts: they are added once per frame, so the layout is read once.
  function flush() {
    flushing = false;
    if (!pending.length) {
      return;
    }
    const following = atBottom();
    const rows = document.createDocumentFragment();
    for (const line of pending.splice(0)) {
      rows.append(row(line));
    }
    body.append(rows);
    if (following) {
      window.scrollTo(0, document.documentElement.scrollHeight);
    }
  }

  function setState(text, ended, result) {
    state.textContent = text;
    state.className = (ended ? "ended " : "live ") + (result || "");
  }

  const url = new URL(follow.dataset.events, location.href);
  url.searchParams.set("from", follow.dataset.next);
  const source = new EventSource(url);

  source.addEventListener("line", (event) => {
    if (state.dataset.state === "waiting") {
      state.dataset.state = "running";
      setState("running", false, "");
      const waiting = document.getElementById("no-log");
      if (waiting) {
        waiting.remove();
      }
    }
    pending.push(JSON.parse(event.data));
    if (!flushing) {
      flushing = true;
      requestAnimationFrame(flush);
    }
  });

  source.addEventListener("end", (event) => {
    source.close();
    flush();
    const end = JSON.parse(event.data);
    state.dataset.state = end.state;
    const said = end.result || end.state;
    setState(end.detail ? said + " (" + end.detail + ")" : said, true, end.result);
    document.body.dataset.ended = "true";
  });

  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) {
      setState("the console is unavailable: reload to try again", true, "");
    }
  });
})();
