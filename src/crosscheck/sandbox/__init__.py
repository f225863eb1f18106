"""The sandbox: a real local Gerrit, the demo of the whole loop on it, and their
process helpers (pids, prerequisites). Used by the CLI and the tests, never by serve."""
