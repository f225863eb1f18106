"""Plain data and rules: no I/O, no framework imports, testable in microseconds."""
