"""In-app notifications, mirrored by e-mail (console backend by default, SMTP by settings)."""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from accounts.models import Notification
from core import outbox

logger = logging.getLogger("vendorselect.notifications")
EMAIL_TASK = "accounts.tasks.send_notification_emails"


def notify(recipients, kind: str, subject: str, body: str = "", url: str = "", key: str = "") -> list[Notification]:
    """Create one inbox entry per recipient (once per key, when a key is given); e-mail after commit."""
    recipients = {user.pk: user for user in recipients if user.is_active}
    if key:
        seen = set(
            Notification.objects.filter(key=key, recipient_id__in=recipients).values_list("recipient_id", flat=True)
        )
        recipients = {pk: user for pk, user in recipients.items() if pk not in seen}
    created = Notification.objects.bulk_create(
        [
            Notification(recipient=user, kind=kind, subject=subject[:300], body=body, url=url, key=key)
            for user in recipients.values()
        ],
        ignore_conflicts=bool(key),  # a concurrent reminder run already notified
    )
    if key:  # rows skipped as conflicts come back without a primary key: look the new ones up
        pending = Notification.objects.filter(key=key, recipient_id__in=recipients, emailed=False)
        ids = list(pending.values_list("pk", flat=True))
    else:
        ids = [n.pk for n in created]
    if ids:
        # Written with the notifications, published after commit (core.outbox): a broker that is down
        # delays the e-mails until the relay's next run; the daily reminder run sends any still unsent.
        ids = sorted(ids)
        batch = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:32]
        outbox.enqueue_on_commit(EMAIL_TASK, ids, key=f"notification-emails:{ids[0]}:{batch}")
    return created


def send_emails(ids: list[int]) -> int:
    """Send the e-mails of these notifications that were not sent yet; returns how many went out."""
    sent = 0
    pending = Notification.objects.filter(pk__in=ids, emailed=False).select_related("recipient")
    for note in pending:
        if note.recipient.email:
            link = f"{settings.SITE_URL}{note.url}" if note.url else ""
            send_mail(note.subject, f"{note.body}\n\n{link}".strip(), None, [note.recipient.email])
            sent += 1
        Notification.objects.filter(pk=note.pk).update(emailed=True)
    return sent


def unsent_ids() -> list[int]:
    return list(Notification.objects.filter(emailed=False).values_list("pk", flat=True)[:1000])


def inbox(user):
    return Notification.objects.filter(recipient=user)


def unread_count(user) -> int:
    return Notification.objects.filter(recipient=user, read_at=None).count()


def mark_read(user, ids=None) -> int:
    notes = Notification.objects.filter(recipient=user, read_at=None)
    if ids is not None:
        notes = notes.filter(pk__in=ids)
    return notes.update(read_at=timezone.now())
