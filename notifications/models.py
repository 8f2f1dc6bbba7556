"""Notification channels, rules and the outbox arrive with their issue."""
