"""Roles, API keys and the audit log arrive with their issue."""
