from django.apps import AppConfig


class CoreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
    verbose_name = "Shared infrastructure"

    def ready(self):
        from core import records, trail  # noqa: F401 - trail registers the deploy check

        records.connect()
