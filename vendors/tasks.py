from celery import shared_task
from django.db import OperationalError

from core import trail
from vendors import services
from vendors.models import ImportJob

# Storage hiccups, a database restart: worth another try, with backoff.
TRANSIENT = (OSError, OperationalError)


@shared_task(bind=True, acks_late=True, max_retries=3)
def import_check(self, job_id: int) -> None:
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None:
        return
    try:
        services.import_job_check(job=job, claim=self.request.id or "eager")
    except TRANSIENT as error:
        if self.request.retries < self.max_retries:
            raise self.retry(exc=error, countdown=min(2 ** (self.request.retries + 2), 60)) from error
        services.import_job_fail(job_id, f"Gave up after {self.request.retries + 1} attempts: {error}")


@shared_task(bind=True, acks_late=True, max_retries=3)
def import_apply(self, job_id: int) -> None:
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None:
        return
    try:
        # The trail of every row the import writes names the person who confirmed it.
        with trail.context(user=job.created_by_id, task=f"import {job.pk} ({job.original_name})"):
            services.import_job_apply(job=job, claim=self.request.id or "eager")
    except TRANSIENT as error:
        if self.request.retries < self.max_retries:
            raise self.retry(exc=error, countdown=min(2 ** (self.request.retries + 2), 60)) from error
        services.import_job_fail(job_id, f"Gave up after {self.request.retries + 1} attempts: {error}")
