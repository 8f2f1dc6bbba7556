"""Notification channels: one module per kind on `base.Channel` (registry)."""
