"""Audit report PDF: HTML from a template, rendered by WeasyPrint with every URL fetch refused.

User text reaches the PDF only through Django's autoescaping, and the renderer may not fetch
anything (no network, no local files): the stylesheet is inline and images are not used.

WeasyPrint runs in a child process (audits/pdfsandbox.py) under a wall-clock time limit
(PDF_RENDER_TIMEOUT seconds, default 120) and an address-space limit (PDF_RENDER_MEMORY_MB,
default 1024), below Celery's task limits: a runaway document fails its report with the reason
instead of stalling or exhausting the worker. A child process rather than multiprocessing,
because Celery's prefork workers are daemonic and may not start multiprocessing children.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.template.loader import render_to_string
from django.utils import timezone

from audits.models import AuditReport, Finding

logger = logging.getLogger(__name__)

# The child's script, run by path: the web and worker processes themselves never import WeasyPrint.
SANDBOX = Path(__file__).resolve().with_name("pdfsandbox.py")
SANDBOX_EXIT_MEMORY = 3  # pdfsandbox.EXIT_MEMORY
# What the child may see of the environment: locale and fonts, no secrets or database settings.
CHILD_ENVIRONMENT = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TMPDIR",
    "XDG_CACHE_HOME",
    "XDG_DATA_DIRS",
    "FONTCONFIG_FILE",
    "FONTCONFIG_PATH",
    "LD_LIBRARY_PATH",
    "WEASYPRINT_DLL_DIRECTORIES",
)


class PdfRenderError(Exception):
    """The renderer failed; the message says why, for the report's error."""


class PdfRenderLimitExceeded(PdfRenderError):
    """The document needed more time or memory than allowed: rendering it again fails again."""


def render_pdf(html: str) -> tuple[bytes, int, list[str]]:
    """PDF bytes, page count, and the URLs the document asked for (all refused), from a limited child."""
    timeout = float(getattr(settings, "PDF_RENDER_TIMEOUT", 120))
    memory_mb = int(getattr(settings, "PDF_RENDER_MEMORY_MB", 1024))
    if not sys.executable:
        raise PdfRenderError("No Python interpreter to run the PDF renderer in.")
    too_slow = f"The PDF took longer than the {timeout:g} s allowed to render (PDF_RENDER_TIMEOUT)."
    too_big = f"The PDF needed more than the {memory_mb} MB of memory allowed to render (PDF_RENDER_MEMORY_MB)."
    environment = {key: os.environ[key] for key in CHILD_ENVIRONMENT if key in os.environ}
    command = [sys.executable, "-I", str(SANDBOX), str(memory_mb * 1024 * 1024), str(math.ceil(timeout) + 5)]
    try:
        child = subprocess.run(  # noqa: S603 - our interpreter and our script, no shell
            command, input=html.encode("utf-8"), capture_output=True, timeout=timeout, env=environment, check=False
        )
    except subprocess.TimeoutExpired:  # run() has killed the child
        raise PdfRenderLimitExceeded(too_slow) from None
    code = child.returncode
    if code == SANDBOX_EXIT_MEMORY:
        raise PdfRenderLimitExceeded(too_big)
    if code == -signal.SIGXCPU:  # the CPU-time backstop
        raise PdfRenderLimitExceeded(too_slow)
    if code in (-signal.SIGABRT, -signal.SIGSEGV, -signal.SIGBUS, -signal.SIGKILL):
        # Native libraries abort when an allocation fails under the address-space limit.
        raise PdfRenderLimitExceeded(f"{too_big} The renderer stopped with {signal.Signals(-code).name}.")
    if code != 0:
        reason = child.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit status {code}"]
        raise PdfRenderError(f"The PDF renderer failed: {reason[0]}")
    header, _, pdf = child.stdout.partition(b"\n")
    meta = json.loads(header)
    return pdf, meta["pages"], meta["refused"]


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
