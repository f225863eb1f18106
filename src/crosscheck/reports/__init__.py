"""Reports out: persisted reports, retried until delivered (ReportQueue)."""
