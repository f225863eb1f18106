"""The scheduler: events become items, items become builds, builds become one report."""
