from django.apps import AppConfig


class OversightConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "oversight"
    verbose_name = "Oversight after the award"

    def ready(self) -> None:
        # Risk-based requalification follows signed qualifications and the site's regulatory/CAPA records.
        from oversight import requalification

        requalification.connect()
