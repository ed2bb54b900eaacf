"""The PDF renderer runs in a child process under a time and a memory limit; overruns fail the report clearly."""

from datetime import date, timedelta

import pytest

from audits import report, services
from audits.models import Audit, AuditReport
from audits.tasks import render_audit_report
from core import pdf as renderer
from core import pdfsandbox
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db
TODAY = date.today()


@pytest.fixture
def drafted(users):
    audit = services.audit_create(
        user=users["auditor"],
        site=SiteFactory(),
        type="qualification",
        planned_start=TODAY - timedelta(days=5),
        planned_end=TODAY - timedelta(days=4),
    )
    audit = services.audit_transition(audit=audit, user=users["auditor"], action="start")
    services.finding_add(
        audit=audit,
        user=users["auditor"],
        severity="minor",
        area="training",
        description="Training matrix out of date",
        capa_required=False,
    )
    return services.audit_transition(audit=audit, user=users["auditor"], action="draft_report")


def _child(tmp_path, monkeypatch, code: str):
    """Replace the renderer's script with a stand-in child."""
    script = tmp_path / "child.py"
    script.write_text(code)
    monkeypatch.setattr(renderer, "SANDBOX", script)
    monkeypatch.setattr(renderer, "FORK", False)  # the fresh-interpreter path, which runs the script


def test_normal_rendering_still_works():
    pdf, pages, refused = renderer.render_pdf("<html><body><h1>Report</h1><p>Body</p></body></html>")
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF") and pages == 1 and refused == []


def test_time_limit(settings):
    settings.PDF_RENDER_TIMEOUT = 0.01
    with pytest.raises(renderer.PdfRenderLimitExceeded) as overrun:
        renderer.render_pdf("<p>x</p>")
    assert str(overrun.value) == "The PDF took longer than the 0.01 s allowed to render (PDF_RENDER_TIMEOUT)."


def test_memory_limit(settings):
    """The limit is what rendering may add to the process it starts from (core.pdf._forked). One word of
    10 million characters: shaping it takes one allocation of hundreds of MB, which no free space the test
    process leaves the child can hold, so the limit stops it in about a second (a long table or a long
    paragraph grew within that free space, for minutes, until the time limit stopped it first)."""
    settings.PDF_RENDER_MEMORY_MB = 8
    settings.PDF_RENDER_TIMEOUT = 120
    with pytest.raises(renderer.PdfRenderLimitExceeded, match=r"more than the 8 MB of memory allowed"):
        renderer.render_pdf("<p>" + "x" * 10_000_000 + "</p>")


def test_overrun_fails_the_report_without_retry(client_as, drafted, settings, django_capture_on_commit_callbacks):
    settings.PDF_RENDER_TIMEOUT = 0.01
    client = client_as("auditor")
    with django_capture_on_commit_callbacks(execute=True):  # the eager task runs and must not raise
        response = client.post(f"/audits/{drafted.pk}/report/", follow=True)
    assert response.status_code == 200
    item = AuditReport.objects.get()
    assert item.status == "failed" and item.finished_at is not None and not item.file
    assert "took longer than the 0.01 s allowed" in item.error
    page = client.get(f"/audits/{drafted.pk}/").content.decode()
    assert "Generation failed: The PDF took longer than the 0.01 s allowed to render" in page
    # Run as the worker runs it: the task succeeds (nothing to retry) and the report stays failed.
    result = render_audit_report.apply(args=[item.pk])
    assert result.successful() and result.get() is None
    assert AuditReport.objects.get().status == "failed"
    # With room to render, a new request produces the PDF.
    settings.PDF_RENDER_TIMEOUT = 120
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/audits/{drafted.pk}/report/")
    done = AuditReport.objects.exclude(pk=item.pk).get()
    assert done.status == "done" and done.pages >= 1 and len(done.sha256) == 64


def test_memory_crash_of_native_code_is_a_limit_failure(tmp_path, monkeypatch):
    _child(tmp_path, monkeypatch, "import os\nos.abort()\n")
    with pytest.raises(renderer.PdfRenderLimitExceeded, match=r"1024 MB of memory .* stopped with SIGABRT"):
        renderer.render_pdf("<p>x</p>")


def test_other_failures_are_reported_and_not_limits(tmp_path, monkeypatch, drafted, users):
    _child(tmp_path, monkeypatch, "import sys\nsys.stderr.write('Traceback...\\nValueError: bad\\n')\nsys.exit(1)\n")
    with pytest.raises(renderer.PdfRenderError) as failure:
        renderer.render_pdf("<p>x</p>")
    assert not isinstance(failure.value, renderer.PdfRenderLimitExceeded)
    assert str(failure.value) == "The PDF renderer failed: ValueError: bad"
    item = AuditReport.objects.create(audit=Audit.objects.get(pk=drafted.pk), requested_by=users["auditor"])
    with pytest.raises(renderer.PdfRenderError):  # unexpected: raised for the worker to log
        report.render_report(item)
    item.refresh_from_db()
    assert item.status == "failed" and item.error == "The PDF renderer failed: ValueError: bad"


def test_child_gets_limits_and_no_secrets(tmp_path, monkeypatch, settings):
    """The child starts isolated, with its rlimits set by the real sandbox and without the app's secrets."""
    monkeypatch.setenv("DATABASE_URL", "postgres://secret@db/x")
    _child(
        tmp_path,
        monkeypatch,
        "import json, os, resource, sys\n"
        f"sys.path.insert(0, {str(renderer.SANDBOX.parent)!r})\n"
        "import pdfsandbox\n"
        "pdfsandbox.limit(int(sys.argv[1]), int(sys.argv[2]))\n"
        "info = [sorted(os.environ), resource.getrlimit(resource.RLIMIT_AS), resource.getrlimit(resource.RLIMIT_CPU),"
        " sys.flags.isolated, sys.stdin.read()]\n"
        "sys.stdout.write(json.dumps({'pages': 1, 'refused': info}) + '\\n%PDF-stand-in')\n",
    )
    settings.PDF_RENDER_TIMEOUT = 30
    settings.PDF_RENDER_MEMORY_MB = 512
    pdf, pages, (environment, memory, cpu, isolated, html) = renderer.render_pdf("<p>ünïcode</p>")
    assert pdf == b"%PDF-stand-in" and pages == 1 and html == "<p>ünïcode</p>"
    assert memory == [512 * 1024 * 1024] * 2 and cpu == [35, 36] and isolated == 1
    assert not {"DATABASE_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"} & set(environment)


def test_sandbox_runs_in_process_and_agrees_on_exit_codes():
    assert pdfsandbox.EXIT_MEMORY == renderer.SANDBOX_EXIT_MEMORY
    assert renderer.SANDBOX.name == "pdfsandbox.py" and renderer.SANDBOX.exists()
    pdf, pages, refused = pdfsandbox.render('<p>x</p><img src="http://127.0.0.1:9/a.png">')
    assert pdf.startswith(b"%PDF") and pages == 1 and refused == ["http://127.0.0.1:9/a.png"]


def test_forked_child_reports_failures_and_limits(monkeypatch, settings):
    """The single-threaded path forks a child of this process (WeasyPrint loaded): same answers."""
    assert renderer.FORK
    pdf, pages, _ = renderer.render_pdf("<p>forked</p>")
    assert pdf.startswith(b"%PDF") and pages == 1

    def broken(html):
        raise ValueError("bad")

    monkeypatch.setattr(pdfsandbox, "render", broken)  # inherited by the forked child
    with pytest.raises(renderer.PdfRenderError, match="The PDF renderer failed: ValueError: bad") as failure:
        renderer.render_pdf("<p>x</p>")
    assert not isinstance(failure.value, renderer.PdfRenderLimitExceeded)

    def endless(html):
        while True:
            pass

    monkeypatch.setattr(pdfsandbox, "render", endless)
    settings.PDF_RENDER_TIMEOUT = 0.5
    with pytest.raises(renderer.PdfRenderLimitExceeded, match=r"longer than the 0\.5 s"):
        renderer.render_pdf("<p>x</p>")
