from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Shared infrastructure"

    def ready(self):
        from core import records, trail  # noqa: F401 - trail registers the deploy check

        records.connect()
