"""State changes of the register that more than one caller needs (views, API, worker)."""

import logging
from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core import outbox, trail
from core.errors import Kind, ServiceError
from vendors import access, fda, importing, regulatory
from vendors.models import (
    Agency,
    GmpCertificate,
    ImportAlert,
    ImportJob,
    QualificationStatus,
    RegulatoryInspection,
    Service,
    Site,
    SiteQualification,
    WarningLetter,
)

# The checker (read-only, every row) and the writer (all rows or none) of each import target.
# target -> (check(columns, body), apply(result, user=..., progress=...)): both plain callables.
IMPORTERS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "vendors": (importing.check_vendors, importing.apply_vendors),
    "sites": (importing.check_sites, importing.apply_sites),
    "fda_inspections": (fda.check_inspections, fda.apply_inspections),
    "warning_letters": (regulatory.check_warning_letters, partial(regulatory.apply_records, model=WarningLetter)),
    "import_alerts": (regulatory.check_import_alerts, partial(regulatory.apply_records, model=ImportAlert)),
    "gmp_certificates": (regulatory.check_gmp_certificates, partial(regulatory.apply_records, model=GmpCertificate)),
    "site_qualifications": (regulatory.check_site_qualifications, regulatory.apply_site_qualifications),
}

logger = logging.getLogger(__name__)


def _progress_key(job_id: int) -> str:
    return f"import-progress:{job_id}"


def import_progress(job: ImportJob) -> dict:
    """Rows done / total of the running step; lives in the shared cache, not in the row,
    because the apply step runs inside one long transaction that other sessions cannot see into."""
    progress = cache.get(_progress_key(job.pk)) or {"done": 0, "total": job.row_count or 0}
    total = progress["total"] or 0
    progress["percent"] = int(100 * progress["done"] / total) if total else 0
    return progress


def _reporter(job: ImportJob):
    def report(done: int, total: int) -> None:
        cache.set(_progress_key(job.pk), {"done": done, "total": total}, timeout=3600)

    return report


def import_job_create(*, user, target: str, upload) -> ImportJob:
    with transaction.atomic():  # the job and its outbox message, together
        job = ImportJob.objects.create(
            target=target, file=upload, original_name=upload.name[:255], created_by=user, status=ImportJob.Status.QUEUED
        )
        outbox.enqueue_job(IMPORT_CHECKS, job.pk)
    return job


def _read(job: ImportJob):
    with job.file.open("rb") as handle:
        data = handle.read()
    return importing.read_table(data, job.original_name)


def _fail_file(job: ImportJob, error: importing.ImportFileError) -> None:
    job.status = ImportJob.Status.INVALID
    job.report = {"errors": [{"row": 0, "column": "", "message": str(error)}], "counts": {}, "preview": []}
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "report", "finished_at"])


def import_job_check(*, job: ImportJob, claim: str = "direct") -> None:
    """Worker step 1: read and check every row; nothing is written to the register."""
    if not outbox.claim(IMPORT_CHECKS, job.pk, claim):
        return  # a redelivered task after the job moved on, or another delivery has it
    job.status = ImportJob.Status.VALIDATING
    try:
        columns, body = _read(job)
    except importing.ImportFileError as error:
        _fail_file(job, error)
        return
    job.row_count = len(body)
    check, _ = IMPORTERS[job.target]
    result = check(columns, body, progress=_reporter(job))
    job.report = result.as_report()
    job.status = ImportJob.Status.INVALID if result.errors else ImportJob.Status.READY
    job.save(update_fields=["status", "report", "row_count"])


def import_job_confirm(*, job: ImportJob) -> bool:
    """Moves a checked job to applying; False when it is not in the ready state (double click)."""
    with transaction.atomic():  # the move and its outbox message, together
        moved = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.READY).update(
            status=ImportJob.Status.APPLYING, claim="", attempts=0, queued_at=timezone.now(), started_at=None
        )
        if moved:
            outbox.enqueue_job(IMPORT_APPLIES, job.pk)
    return bool(moved)


def import_job_apply(*, job: ImportJob, claim: str = "direct") -> None:
    """Worker step 2: check again (the register may have changed) and write all or nothing. A worker
    that dies half-way leaves nothing written: the redelivered task (same claim) or the sweep runs it again."""
    if not outbox.claim(IMPORT_APPLIES, job.pk, claim):
        return
    try:
        columns, body = _read(job)
    except importing.ImportFileError as error:
        _fail_file(job, error)
        return
    check, apply = IMPORTERS[job.target]
    result = check(columns, body)
    if result.errors:
        job.report = result.as_report()
        job.status = ImportJob.Status.INVALID
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "report", "finished_at"])
        return
    with transaction.atomic():
        counts = apply(result, user=job.created_by, progress=_reporter(job))
        job.report = {**result.as_report(), "counts": counts}
        job.status = ImportJob.Status.DONE
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "report", "finished_at"])


def import_job_fail(job_id: int, reason: str) -> None:
    ImportJob.objects.filter(pk=job_id).exclude(status__in=[ImportJob.Status.DONE, ImportJob.Status.INVALID]).update(
        status=ImportJob.Status.FAILED,
        report={"errors": [{"row": 0, "column": "", "message": reason[:2000]}], "counts": {}, "preview": []},
        finished_at=timezone.now(),
    )


# Both worker steps go through core.outbox; beat's sweep announces again a step whose message was
# lost and runs again one whose worker died (an apply is all-or-nothing, so nothing is half-written).
IMPORT_CHECKS = outbox.register(
    outbox.JobSource(
        name="vendors.import_check",
        model=ImportJob,
        task="vendors.tasks.import_check",
        queued=ImportJob.Status.QUEUED,
        running=ImportJob.Status.VALIDATING,
        fail=import_job_fail,
    )
)
IMPORT_APPLIES = outbox.register(
    outbox.JobSource(
        name="vendors.import_apply",
        model=ImportJob,
        task="vendors.tasks.import_apply",
        queued=ImportJob.Status.APPLYING,  # waiting while unclaimed, applied while claimed
        running=ImportJob.Status.APPLYING,
        fail=import_job_fail,
    )
)


# --- Regulatory inspections: the rules beyond the model's own ------------------------------------

NAI_WITH_OBSERVATIONS = (
    "An NAI inspection with Form 483 observations is rare (observations usually mean VAI or OAI): "
    "check the classification, or confirm that this is what FDA recorded."
)


def inspection_problems(*, agency: str, classification: str, observations: int | None, confirmed: bool) -> dict:
    """{field: message} beyond the model's own checks (which refuse a Form 483 count for another
    agency than FDA): an NAI with observations only when confirmed. The field "confirm" is the
    page's checkbox (the API's confirm_nai_with_observations)."""
    if (
        agency == Agency.FDA
        and classification == RegulatoryInspection.Classification.NAI
        and (observations or 0) > 0
        and not confirmed
    ):
        return {"confirm": NAI_WITH_OBSERVATIONS}
    return {}


# --- The approved-supplier list per site -------------------------------------------------------


def _refuse_invalid(error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        field, messages = next(iter(error.message_dict.items()))
        raise ServiceError(messages[0], None if field == "__all__" else field) from None
    raise ServiceError(error.messages[0]) from None


def record_site_qualification(
    *,
    site: Site,
    activity: Service | None,
    status: str,
    user,
    decided_on: date,
    requalification_due: date | None = None,
    note: str = "",
    source: str = "",
) -> SiteQualification:
    """Record the site's status for one activity (None: every activity at the site): creates the
    row or changes it; the note is the trail entry's reason."""
    if user is not None and not access.can_record_qualification(user):
        raise ServiceError("Only quality assurance records a site's qualification.", kind=Kind.FORBIDDEN)
    if status not in QualificationStatus.values:
        raise ServiceError("Status must be one of " + ", ".join(QualificationStatus.values) + ".", "status")
    if decided_on is None:
        raise ServiceError("Give the date of the decision.", "decided_on")
    with transaction.atomic():
        row = (
            SiteQualification.objects.select_for_update().filter(site=site, activity=activity).order_by("pk").first()
        ) or SiteQualification(site=site, activity=activity)
        row.status = status
        row.decided_on = decided_on
        row.requalification_due = requalification_due
        row.note = note.strip()
        row.source = source.strip()
        row.decided_by = user
        try:
            row.full_clean(exclude=["site", "activity", "decided_by"])
        except ValidationError as error:
            _refuse_invalid(error)
        trail.reason(row.note)
        row.save()
        if activity is None:
            site.qualification = regulatory.STATUS_TO_SITE_OUTCOME[QualificationStatus(status)]
            site.requalification_due = requalification_due
            site.save(update_fields=["qualification", "requalification_due", "updated_at"])
    return row
