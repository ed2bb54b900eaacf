from celery import shared_task

from audits import report
from audits.models import AuditReport
from audits.reminders import send_reminders as run_reminders


@shared_task(bind=True, acks_late=True, max_retries=3)
def render_audit_report(self, report_id: int) -> None:
    """Idempotent: a report already rendered, or taken by another delivery, is left alone. Transient
    errors (storage, database, a failed child start) are retried with backoff, then fail the report;
    a document over the renderer's time or memory limit fails its report at once."""
    item = AuditReport.objects.filter(pk=report_id).select_related("audit__site__vendor").first()
    if item is None:
        return
    try:
        report.render_report(item, claim=self.request.id or "eager")
    except report.TRANSIENT as error:
        if self.request.retries < self.max_retries:
            raise self.retry(exc=error, countdown=min(2 ** (self.request.retries + 2), 60)) from error
        report.report_fail(report_id, f"Gave up after {self.request.retries + 1} attempts: {error}")


@shared_task(acks_late=True)
def send_reminders() -> dict[str, int]:
    """Daily (celery beat): overdue CAPAs and due requalifications, once per due date each."""
    return run_reminders()
