from celery import shared_task

from core import trail
from vendors import services
from vendors.models import ImportJob


@shared_task(acks_late=True)
def import_check(job_id: int) -> None:
    job = ImportJob.objects.filter(pk=job_id).first()
    if job:
        services.import_job_check(job=job)


@shared_task(acks_late=True)
def import_apply(job_id: int) -> None:
    job = ImportJob.objects.filter(pk=job_id).first()
    if job:
        # The trail of every row the import writes names the person who confirmed it.
        with trail.context(user=job.created_by_id, task=f"import {job.pk} ({job.original_name})"):
            services.import_job_apply(job=job)
