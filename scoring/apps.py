from django.apps import AppConfig
from django.db.models.signals import m2m_changed


def _on_evaluators_changed(sender, instance, action, pk_set, reverse, **kwargs):
    if action == "post_add" and not reverse and pk_set:
        from scoring.services import evaluators_invited

        evaluators_invited(instance, pk_set)


class ScoringConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "scoring"

    def ready(self):
        from scoring.models import Evaluation

        # A signal, so that every path that adds evaluators (page, API, admin) invites them.
        m2m_changed.connect(_on_evaluators_changed, sender=Evaluation.evaluators.through, dispatch_uid="invite")
