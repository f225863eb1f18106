"""Promotion at work: the engine that promotes candidates as evidence arrives, what it
explains, and the API that reads and approves.

The rules are `model.promotion`'s, the state `store.promotion`'s and `store.evidence`'s;
results on candidates come in through the results service, which tells the engine.
"""
