"""The outbox of background work (core/outbox.py) and the fields every queued job carries."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class OutboxMessage(models.Model):
    """A task to publish, written in the same transaction as the work it announces: a broker outage
    at publish time loses nothing, because the relay publishes what is still pending."""

    task = models.CharField(max_length=200)
    key = models.CharField(max_length=200, unique=True, help_text="One message per piece of work.")
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["published_at"], name="core_outbox_pending")]

    def __str__(self) -> str:
        return self.key


class QueuedJob(models.Model):
    """What the outbox's claim and sweep read on a row of work (an RFP packet, an audit report, an
    import): who has it, how often it was taken, when it was announced and when a worker took it.
    The row's own `status` field says queued / running / finished (core.outbox.JobSource)."""

    attempts = models.PositiveSmallIntegerField(default=0)
    claim = models.CharField(max_length=64, blank=True, help_text="The task delivery working on it.")
    queued_at = models.DateTimeField(default=timezone.now, help_text="When its message was last sent.")
    started_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
