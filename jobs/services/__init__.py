"""Writes and side effects, one module per subject: jobs, runs, transfer."""
