"""Fakes shared by the unit and integration tests (one fake Gerrit: `tests.fakes.gerrit`)."""
