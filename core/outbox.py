"""One path for background work: an outbox written in the caller's transaction, a relay that
publishes it after commit (and every minute from beat), claims that keep a row from being worked
twice, and one sweep for work whose message the broker lost or whose worker died.

Why an outbox and not `on_commit(task.delay)`: a broker that is down at publish time would lose the
message after the row was committed (a report "queued" forever). The message row commits or rolls
back with the work; the relay publishes what is pending; a message published twice is harmless
because the task claims its row first.

Each kind of work registers a `JobSource` (its model, the status values for "waiting for a worker"
and "a worker has it", the task, how to fail a row) and the sweep reads them all; core knows no app.
A row of work carries `core.models.QueuedJob`'s fields (claim, attempts, queued_at, started_at).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from core.models import OutboxMessage, QueuedJob

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobSource:
    """Where the sweep finds one kind of work, and how a worker takes a row of it.

    `queued` and `running` may be the same status (an import being applied): a row with no claim is
    then waiting, one with a claim is being worked on. `fail(pk, reason)` gives up on a row.
    """

    name: str
    model: type[QueuedJob]  # with a `status` field
    task: str
    queued: str
    running: str
    fail: Callable[[int, str], None]
    max_attempts: int | None = None  # claims before a dead worker's row is failed; OUTBOX_MAX_ATTEMPTS
    requeue_fields: dict[str, Any] = field(default_factory=dict)  # also reset when queued again

    def waiting(self) -> Q:
        return Q(status=self.queued, claim="")

    def working(self) -> Q:
        return Q(status=self.running) & ~Q(claim="")

    def attempts_allowed(self) -> int:
        return self.max_attempts or settings.OUTBOX_MAX_ATTEMPTS


SOURCES: dict[str, JobSource] = {}


def register(source: JobSource) -> JobSource:
    """Called by each app when its module loads (from its AppConfig.ready)."""
    SOURCES[source.name] = source
    return source


# --- Writing and publishing -------------------------------------------------------------------------


def enqueue_on_commit(task_name: str, *args: Any, key: str) -> None:
    """Announce `task_name(*args)` in the caller's transaction; published after it commits.

    `key` names the piece of work: a second message with the same key is not written (the work is
    announced already). Task arguments must be JSON (ids, not rows).
    """
    OutboxMessage.objects.bulk_create(
        [OutboxMessage(task=task_name, key=key[:200], args=list(args))], ignore_conflicts=True
    )
    # One relay publishes every pending message: a loop of enqueues in one block registers it once.
    callbacks = transaction.get_connection().run_on_commit
    savepoints = set(transaction.get_connection().savepoint_ids)
    if not (callbacks and callbacks[-1][1] is _relay_after_commit and callbacks[-1][0] == savepoints):
        transaction.on_commit(_relay_after_commit)


def enqueue_job(source: JobSource, pk: int, *, key: str | None = None) -> None:
    """Announce a row of a job source (its task takes the row's id)."""
    enqueue_on_commit(source.task, pk, key=key or f"{source.name}:{pk}")


def _relay_after_commit() -> None:
    relay()  # looked up when called, so that a test can stand in for the broker


def _task(name: str):
    from celery import current_app

    if name not in current_app.tasks:  # a web process has not imported every tasks module
        importlib.import_module(name.rpartition(".")[0])
    return current_app.tasks[name]


def relay(limit: int = 500) -> int:
    """Publish pending outbox messages (after a commit, and every minute by beat); returns how many.

    A broker outage leaves them pending for the next run; a message published twice is harmless,
    because the task claims its row before working on it.
    """
    from celery import group
    from kombu.exceptions import OperationalError as BrokerError

    with transaction.atomic():
        pending = list(
            OutboxMessage.objects.select_for_update(skip_locked=True).filter(published_at=None).order_by("pk")[:limit]
        )
        if not pending:
            return 0
        try:
            group(_task(m.task).s(*m.args) for m in pending).apply_async()
        except (BrokerError, OSError) as error:  # the broker is down: keep them pending
            logger.warning("Outbox relay could not publish %d message(s): %s", len(pending), error)
            OutboxMessage.objects.filter(pk__in=[m.pk for m in pending]).update(
                last_error=str(error)[:500], attempts=F("attempts") + 1
            )
            return 0
        OutboxMessage.objects.filter(pk__in=[m.pk for m in pending]).update(
            published_at=timezone.now(), last_error="", attempts=F("attempts") + 1
        )
    return len(pending)


# --- Taking a row (in the worker) -------------------------------------------------------------------


def claim(source: JobSource, pk: int, claim: str) -> bool:
    """Take the row for this task delivery. A redelivery of the same task (worker lost) may take it
    again; a second message for the same row (published twice) may not."""
    taken: dict[str, Any] = {"status": source.running}  # each model has its own status field
    rows = source.model._default_manager.filter(source.waiting() | Q(status=source.running, claim=claim), pk=pk)
    return bool(rows.update(started_at=timezone.now(), claim=claim, attempts=F("attempts") + 1, **taken))


def requeue(source: JobSource, pk: int, reason: str = "retry") -> None:
    """Queue the row again with a new message (a retry, or the sweep taking over from a dead worker)."""
    now = timezone.now()
    waiting: dict[str, Any] = {"status": source.queued, **source.requeue_fields}
    source.model._default_manager.filter(pk=pk).update(claim="", queued_at=now, started_at=None, **waiting)
    enqueue_on_commit(source.task, pk, key=f"{source.name}:{pk}:{reason}:{now.timestamp()}")


def is_stuck(source: JobSource, row) -> bool:
    """Waiting or running for longer than a task may run: its message was lost (e.g. Redis lost data)."""
    limit = timezone.now() - timedelta(seconds=2 * settings.CELERY_TASK_TIME_LIMIT)
    if row.status == source.running and row.claim:
        return row.started_at is not None and row.started_at < limit
    return row.status == source.queued and row.queued_at < limit


# --- The sweep (beat) ---------------------------------------------------------------------------------


def broker_backlog() -> int | None:
    """Messages waiting in the task queue, or None when the broker cannot be asked."""
    from celery import current_app
    from kombu.exceptions import ChannelError
    from kombu.exceptions import OperationalError as BrokerError

    queue = current_app.conf.task_default_queue
    try:
        with current_app.connection_for_read() as connection:
            return connection.default_channel.queue_declare(queue=queue, passive=True).message_count
    except ChannelError:  # no such queue: a restarted broker that no worker has declared it on yet
        return 0
    except (BrokerError, OSError):
        return None


def sweep(sources: list[JobSource] | None = None) -> dict[str, dict[str, int]]:
    """Recover work whose message the broker lost (Redis restarted without persistence, a flushed
    queue), run by beat before the relay; returns the counts per source.

    A row still waiting OUTBOX_REQUEUE_AFTER seconds after its message was sent is announced again
    when the broker's queue is empty (a long batch still being worked through is not lost). A row
    worked on for longer than twice the hard time limit (its task is surely dead, and its message
    was not redelivered) is queued again, or failed after its source's maximum of claims, so that
    work that kills its worker does not loop. A second message is harmless: the task claims first.
    """
    now = timezone.now()
    backlog: list[int | None] = []

    def broker_empty() -> bool:  # asked at most once per sweep, and only when something waits
        if not backlog:
            backlog.append(broker_backlog())
        return backlog[0] == 0

    return {
        source.name: _sweep_source(source, now, broker_empty)
        for source in (sources if sources is not None else SOURCES.values())
    }


def _sweep_source(source: JobSource, now, broker_empty: Callable[[], bool]) -> dict[str, int]:
    rows = source.model._default_manager
    announced = rows.filter(source.waiting(), queued_at__lt=now - timedelta(seconds=settings.OUTBOX_REQUEUE_AFTER))
    if not announced.exists() or not broker_empty():
        announced = announced.none()
    dead = rows.filter(source.working(), started_at__lt=now - timedelta(seconds=2 * settings.CELERY_TASK_TIME_LIMIT))
    counts = {"announced": 0, "requeued": 0, "failed": 0}
    with transaction.atomic():
        for row in announced.select_for_update(skip_locked=True).order_by("pk")[:500]:
            rows.filter(pk=row.pk).update(queued_at=now)
            enqueue_on_commit(source.task, row.pk, key=f"{source.name}:{row.pk}:again:{now.timestamp()}")
            counts["announced"] += 1
        for row in dead.select_for_update(skip_locked=True).order_by("pk")[:500]:
            if row.attempts >= source.attempts_allowed():
                source.fail(row.pk, f"Gave up after {row.attempts} attempts: the worker running it stopped.")
                counts["failed"] += 1
            else:
                requeue(source, row.pk, "requeued")
                counts["requeued"] += 1
    if any(counts.values()):
        logger.warning("Outbox sweep of %s: %s", source.name, counts)
    return counts
