from celery import shared_task

from accounts import notifications


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def send_notification_emails(ids: list[int]) -> int:
    return notifications.send_emails(ids)
