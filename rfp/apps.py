from django.apps import AppConfig


class RfpConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "rfp"
