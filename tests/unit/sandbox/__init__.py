"""Tests of the sandbox package: the sandbox Gerrit's parts, the demo, pids, prerequisites."""
