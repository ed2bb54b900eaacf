from celery import shared_task

from audits import report
from audits.models import AuditReport
from audits.reminders import send_reminders as run_reminders


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def render_audit_report(report_id: int) -> None:
    """Render and store the PDF. OSError (storage, a failed child start) is retried; a document over
    the renderer's time or memory limit fails its report with that reason and is not retried."""
    item = AuditReport.objects.filter(pk=report_id).select_related("audit__site__vendor").first()
    if item:
        report.render_report(item)


@shared_task(acks_late=True)
def send_reminders() -> dict[str, int]:
    """Daily (celery beat): overdue CAPAs and due requalifications, once per due date each."""
    return run_reminders()
