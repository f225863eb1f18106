"""Events in: each event from any source processed once (EventIntake)."""
