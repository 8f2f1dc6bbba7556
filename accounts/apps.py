from django.apps import AppConfig


class AccountsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "accounts"

    def ready(self) -> None:
        """Record sign-ins and failed sign-ins, which Django signals."""
        from django.contrib.auth.signals import (
            user_logged_in,
            user_logged_out,
            user_login_failed,
        )

        from accounts import signals

        user_logged_in.connect(signals.on_user_logged_in, dispatch_uid="audit_sign_in")
        user_logged_out.connect(
            signals.on_user_logged_out, dispatch_uid="audit_sign_out"
        )
        user_login_failed.connect(
            signals.on_user_login_failed, dispatch_uid="audit_sign_in_failed"
        )
