"""Operators see and steer nodes: the nodes API (`api.py`), the /nodes page (`page.py`).

Holds, drains and autoholds are the pool's (executor/pool.py); this package only takes
operators' requests to it. Nothing is imported here, so `crosscheck nodes` can read
`spans` without loading the web stack.
"""
