from celery import shared_task
from django.db import OperationalError

from core.pdf import PdfRenderError, PdfRenderLimitExceeded
from rfp import bidding, services

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


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def send_sign_in_links(email: str) -> int:
    return bidding.send_sign_in_links(email)


@shared_task(acks_late=True)
def send_portal_reminders() -> int:
    """Beat, hourly: deadline reminders to invited vendors that have not submitted (each once)."""
    return bidding.send_reminders()


@shared_task(bind=True, acks_late=True, max_retries=4)
def render_award_notice(self, notice_id: int) -> None:
    """An award or regret notice to one vendor: PDF, then the e-mail. Idempotent like packets."""
    from rfp import awards

    try:
        awards.notice_render(notice_id, claim=self.request.id or "eager")
    except PdfRenderLimitExceeded as error:
        awards.notice_fail(notice_id, str(error))
    except (*TRANSIENT, PdfRenderError) as error:
        if self.request.retries < self.max_retries:
            raise self.retry(exc=error, countdown=min(2 ** (self.request.retries + 2), 60)) from error
        awards.notice_fail(notice_id, f"Gave up after {self.request.retries + 1} attempts: {error}")
