"""The composition roots below the CLI: they build the parts and serve them.

`crosscheck serve`: wiring.py (the parts and how they connect), web_app.py (its one
FastAPI app), lifecycle.py (the socket, uvicorn, stop signals, a graceful stop),
queue_depths.py (the queue gauges /metrics reads from the store).

`crosscheck results serve`: results_app.py (the results service's routers with the
pages when reads are public, also mounted by web_app.py), results_server.py (that
app under uvicorn beside the SSH command server).

The only package below the CLI that imports web/: the pages are mounted here.
"""
