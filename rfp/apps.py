from django.apps import AppConfig


class RfpConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "rfp"

    def ready(self):
        from rfp import services  # noqa: F401 - registers its background work with core.outbox
