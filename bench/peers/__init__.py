"""Benches of crosscheck against a peer CI on one sandbox Gerrit, measured in the same run."""
