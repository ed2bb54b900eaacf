from celery import shared_task

from core import outbox


@shared_task(acks_late=True)
def relay_outbox() -> int:
    """Every OUTBOX_RELAY_SECONDS (beat): recover work whose message was lost, publish what is pending."""
    outbox.sweep()
    return outbox.relay()
