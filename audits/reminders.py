"""Daily reminders (Celery beat, or `manage.py send_reminders` from cron): overdue CAPAs, due requalifications.

Each reminder is keyed, so a CAPA or a site is announced once per due date however often this runs.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts import notifications
from accounts.models import Notification
from accounts.roles import AUDITOR
from audits.models import Capa
from vendors import selectors as vendor_selectors


def remind_overdue_capas(today=None) -> int:
    today = today or timezone.localdate()
    capas = (
        Capa.objects.filter(due_date__lt=today)
        .exclude(status__in=Capa.DONE)
        .select_related("finding__audit__site__vendor", "finding__audit__lead_auditor")
        .prefetch_related("finding__audit__co_auditors")
    )
    sent = 0
    for capa in capas:
        audit = capa.finding.audit
        sent += len(
            notifications.notify(
                [audit.lead_auditor, *audit.co_auditors.all()],
                Notification.Kind.CAPA_OVERDUE,
                f"CAPA overdue: {audit.site.vendor.name}, finding {capa.finding.number} (due {capa.due_date:%Y-%m-%d})",
                f"{capa.finding.get_severity_display()} finding at {audit.site.name}; CAPA status "
                f"{capa.get_status_display().lower()}, owner {capa.owner or 'not named'}.",
                audit.get_absolute_url(),
                key=f"capa-overdue:{capa.pk}:{capa.due_date:%Y-%m-%d}",
            )
        )
    return sent


def remind_requalifications(days: int = 90) -> int:
    auditors = list(get_user_model().objects.filter(groups__name=AUDITOR, is_active=True))
    sent = 0
    for site in vendor_selectors.requalification_due(days=days, limit=None):
        sent += len(
            notifications.notify(
                auditors,
                Notification.Kind.REQUALIFICATION_DUE,
                f"Requalification due {site.requalification_due:%Y-%m-%d}: {site.vendor.name}, {site.name}",
                "Plan the requalification audit of this site.",
                site.get_absolute_url(),
                key=f"requalification:{site.pk}:{site.requalification_due:%Y-%m-%d}",
            )
        )
    return sent


def send_reminders() -> dict[str, int]:
    result = {"capa_overdue": remind_overdue_capas(), "requalification_due": remind_requalifications()}
    notifications.send_emails(notifications.unsent_ids())  # also what a broker outage left unsent
    return result
