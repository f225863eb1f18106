"""Builds on SSH nodes (asyncssh, never the `ssh` command): connections with pinned
host keys, the remote side of a build (workspace in, steps, artifacts out), and the
clean-up of what a lost or interrupted build left on a node."""
