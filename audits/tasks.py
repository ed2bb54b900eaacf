from celery import shared_task

from audits import report
from audits.models import AuditReport


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def render_audit_report(report_id: int) -> None:
    item = AuditReport.objects.filter(pk=report_id).select_related("audit__site__vendor").first()
    if item:
        report.render_report(item)
