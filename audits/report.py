"""Audit report PDF: HTML from a template, rendered in core.pdf's sandbox (every URL fetch refused).

User text reaches the PDF only through Django's autoescaping, and the renderer may not fetch
anything (no network, no local files): the stylesheet is inline and images are not used. A document
over the renderer's time or memory limit fails its report with the reason, without a retry.
"""

from __future__ import annotations

import hashlib
import logging

from django.core.files.base import ContentFile
from django.template.loader import render_to_string
from django.utils import timezone

from audits.models import AuditReport, Finding
from audits.selectors import signature_manifest
from core.pdf import PdfRenderLimitExceeded, render_pdf

logger = logging.getLogger(__name__)


def audit_report_html(audit) -> str:
    findings = Finding.objects.filter(audit=audit).select_related("capa").order_by("number")
    return render_to_string(
        "audits/report_pdf.html",
        {
            "audit": audit,
            "findings": findings,
            "manifest": signature_manifest(audit),
            "amendments": audit.amendments.select_related("author"),
            "generated_at": timezone.now(),
        },
    )


def render_report(report: AuditReport) -> AuditReport:
    """Worker step: render, store through the storage API with its SHA-256, record the page count."""
    if report.status == AuditReport.Status.DONE:
        return report  # a redelivered task: the file exists already
    AuditReport.objects.filter(pk=report.pk).update(status=AuditReport.Status.RENDERING)
    try:
        pdf, pages, _ = render_pdf(audit_report_html(report.audit))
    except Exception as error:  # the report says why instead of staying "rendering"
        AuditReport.objects.filter(pk=report.pk).update(
            status=AuditReport.Status.FAILED, error=str(error)[:2000], finished_at=timezone.now()
        )
        if isinstance(error, PdfRenderLimitExceeded):
            # Deterministic: the same document overruns again, so the task ends here without a retry.
            logger.warning("Audit report %s failed: %s", report.pk, error)
            report.refresh_from_db()
            return report
        raise
    report.file.save(f"audit-{report.audit_id}-report-{report.pk}.pdf", ContentFile(pdf), save=False)
    report.sha256 = hashlib.sha256(pdf).hexdigest()
    report.pages = pages
    report.status = AuditReport.Status.DONE
    report.finished_at = timezone.now()
    report.save()
    return report
