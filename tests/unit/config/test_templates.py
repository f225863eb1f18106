"""Job and project templates: matrices, overrides, escapes, and their errors."""
