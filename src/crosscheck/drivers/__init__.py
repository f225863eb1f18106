"""One package per outside system crosscheck talks to."""
