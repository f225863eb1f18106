"""The results service as crosscheck's scheduler reports to it: a client of its public API."""
