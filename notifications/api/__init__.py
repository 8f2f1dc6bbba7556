"""The notifications API under /api/notifications/ (see README "Notifications")."""
