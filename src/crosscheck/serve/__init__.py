"""`crosscheck serve` and `crosscheck results serve`: the composition roots (wiring,
web apps, lifecycle and signals)."""
