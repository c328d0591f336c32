"""The figures API: the summary (supervisors), the public summary, and monthly summaries."""
