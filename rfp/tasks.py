from celery import shared_task
from django.db import OperationalError

from core.pdf import PdfRenderError, PdfRenderLimitExceeded
from rfp import services

# Storage hiccups, a database restart, a failed child start: worth another try, with backoff.
TRANSIENT = (OSError, OperationalError)


@shared_task(bind=True, acks_late=True, max_retries=4)
def render_packet(self, packet_id: int) -> None:
    """Idempotent: a packet already generated, or taken by another delivery, is left alone."""
    try:
        services.packet_render(packet_id, claim=self.request.id or "eager")
    except PdfRenderLimitExceeded as error:  # deterministic: the same document fails again
        services.packet_fail(packet_id, str(error))
    except (*TRANSIENT, PdfRenderError) as error:
        if self.request.retries < self.max_retries:
            raise self.retry(exc=error, countdown=min(2 ** (self.request.retries + 2), 60)) from error
        services.packet_fail(packet_id, f"Gave up after {self.request.retries + 1} attempts: {error}")
