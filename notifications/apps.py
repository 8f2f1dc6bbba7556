from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"

    def ready(self) -> None:
        """Add the notification counters to /metrics."""
        from jobs.prometheus import metrics_source_register
        from notifications.prometheus import notification_families

        metrics_source_register(notification_families)
