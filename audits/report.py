"""Audit report PDF: HTML from a template, rendered by WeasyPrint with every URL fetch refused.

User text reaches the PDF only through Django's autoescaping, and the renderer may not fetch
anything (no network, no local files): the stylesheet is inline and images are not used.
"""

from __future__ import annotations

import hashlib
import io

from django.core.files.base import ContentFile
from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetchingError

from audits.models import AuditReport, Finding


class DenyAllFetcher(URLFetcher):
    """Refuses every URL WeasyPrint asks for (http, file, data...), and remembers what was asked."""

    def __init__(self):
        super().__init__(allowed_protocols=[])
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        self.refused.append(url)
        raise URLFetchingError(f"fetching is disabled: {url[:80]}")


def render_pdf(html: str) -> tuple[bytes, int, list[str]]:
    """PDF bytes, page count, and the URLs the document asked for (all refused)."""
    fetcher = DenyAllFetcher()
    document = HTML(string=html, base_url=None, url_fetcher=fetcher).render()
    buffer = io.BytesIO()
    document.write_pdf(buffer)
    return buffer.getvalue(), len(document.pages), fetcher.refused


def audit_report_html(audit) -> str:
    from audits import services

    findings = Finding.objects.filter(audit=audit).select_related("capa").order_by("number")
    return render_to_string(
        "audits/report_pdf.html",
        {
            "audit": audit,
            "findings": findings,
            "manifest": services.signature_manifest(audit),
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
        raise
    report.file.save(f"audit-{report.audit_id}-report-{report.pk}.pdf", ContentFile(pdf), save=False)
    report.sha256 = hashlib.sha256(pdf).hexdigest()
    report.pages = pages
    report.status = AuditReport.Status.DONE
    report.finished_at = timezone.now()
    report.save()
    return report
