"""Live consoles: a build's console.log followed while it grows, in a browser (server-sent
events) and in a terminal (`crosscheck console`), and shown whole once it ended.

    hub.py      ConsoleHub: the executor says a line was written, followers wake
    ansi.py     SGR colours -> HTML or a terminal; every other escape dropped
    follow.py   complete lines of a growing console.log, from a line on, until the end
    builds.py   a build as its console shows it: the store's row, its item, its file
    lines.py    one line for display: its timestamp apart, its text as HTML
    events.py   the event stream's frames: lines, heartbeats, the end
    router.py   the page, the JSON, the plain text and the event stream

Nothing is imported here: the CLI uses ansi.py without loading the web stack.
"""
