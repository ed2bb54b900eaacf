from django.apps import AppConfig


class AuditsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "audits"

    def ready(self):
        from audits import report  # noqa: F401 - registers its background work with core.outbox
