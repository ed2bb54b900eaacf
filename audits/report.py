"""Audit report PDF: HTML from a template, rendered in core.pdf's sandbox (every URL fetch refused).

User text reaches the PDF only through Django's autoescaping, and the renderer may not fetch
anything (no network, no local files): the stylesheet is inline and images are not used. A document
over the renderer's time or memory limit fails its report with the reason, without a retry.

A report is queued through core.outbox (`REPORTS`): the worker claims it before rendering, and
beat's sweep announces again a report whose message was lost and queues again one whose worker died.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging

from django.core.files.base import ContentFile
from django.db import OperationalError
from django.template.loader import render_to_string
from django.utils import timezone

from audits.models import AREAS, AuditReport, Finding
from audits.selectors import signature_manifest
from core import outbox
from core.pdf import PdfRenderLimitExceeded, render_pdf

logger = logging.getLogger(__name__)


def audit_report_html(audit) -> str:
    findings = (
        Finding.objects.filter(audit=audit)
        .select_related("capa__verified_by", "capa__verification_evidence")
        .order_by("number")
    )
    decisions = list(audit.outcomes.select_related("decided_by").order_by("created_at", "pk"))
    areas = dict(AREAS)
    return render_to_string(
        "audits/report_pdf.html",
        {
            "audit": audit,
            "co_auditors": [user.printed_name for user in audit.co_auditors.order_by("last_name", "first_name")],
            "scope_labels": [areas.get(key, key) for key in audit.scope],
            "current_decision": decisions[-1] if decisions else None,
            "findings": findings,
            "manifest": signature_manifest(audit),
            "amendments": audit.amendments.select_related("author"),
            "generated_at": timezone.now(),
        },
    )


# Storage hiccups, a database restart, a failed child start: the task tries again, with backoff.
TRANSIENT = (OSError, OperationalError)


def render_report(report: AuditReport, claim: str = "direct") -> AuditReport | None:
    """Worker step: take the report (None: done already, or another delivery has it), render, store
    through the storage API with its SHA-256, record the page count."""
    if not outbox.claim(REPORTS, report.pk, claim):
        return None
    try:
        pdf, pages, _ = render_pdf(audit_report_html(report.audit))
    except TRANSIENT:
        raise  # left rendering under this claim: the task's retry takes it again
    except Exception as error:  # the report says why instead of staying "rendering"
        report_fail(report.pk, str(error))
        if isinstance(error, PdfRenderLimitExceeded):
            # Deterministic: the same document overruns again, so the task ends here without a retry.
            logger.warning("Audit report %s failed: %s", report.pk, error)
            report.refresh_from_db()
            return report
        raise
    report.file.save(f"audit-{report.audit_id}-report-{report.pk}.pdf", ContentFile(pdf), save=False)
    stored = 0
    try:
        stored = AuditReport.objects.filter(pk=report.pk, status=AuditReport.Status.RENDERING, claim=claim).update(
            file=report.file.name,
            sha256=hashlib.sha256(pdf).hexdigest(),
            pages=pages,
            status=AuditReport.Status.DONE,
            error="",
            finished_at=timezone.now(),
        )
    finally:
        if not stored:  # the database failed, or the sweep gave the report to another delivery
            with contextlib.suppress(OSError):
                report.file.storage.delete(report.file.name)
    report.refresh_from_db()
    return report


def report_fail(report_id: int, reason: str) -> None:
    AuditReport.objects.filter(pk=report_id).exclude(status=AuditReport.Status.DONE).update(
        status=AuditReport.Status.FAILED, error=reason[:2000], finished_at=timezone.now()
    )


REPORTS = outbox.register(
    outbox.JobSource(
        name="audits.report",
        model=AuditReport,
        task="audits.tasks.render_audit_report",
        queued=AuditReport.Status.QUEUED,
        running=AuditReport.Status.RENDERING,
        fail=report_fail,
        requeue_fields={"error": ""},
    )
)
