from django.apps import AppConfig


class RfpConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "rfp"

    def ready(self):
        from rfp import awards, services  # noqa: F401 - register their background work with core.outbox
        from rfp.answers import EVIDENCE
        from scoring import providers

        # scoring reads the opened answers and costs through its registry (it may not import rfp).
        providers.register(EVIDENCE)
