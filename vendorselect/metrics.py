"""Prometheus metrics at /metrics, for a scraper that presents `Authorization: Bearer <METRICS_TOKEN>`.

Two kinds:
- counted as things happen, in each web process (`MetricsMiddleware`, the sign-in signals): requests,
  latencies and database queries per view, sign-in failures and lockouts. With several gunicorn
  workers, PROMETHEUS_MULTIPROC_DIR makes a scrape add up every worker's (gunicorn.conf.py);
- read at scrape time by `StateCollector`, in a fixed number of queries whatever the data (one for the
  outbox, one per job model, one for the lockouts; tests/test_metrics.py counts them), plus one cache
  read (beat's tick) and, with a Redis broker, one LLEN of the task queue: the outbox backlog and its
  oldest pending message, jobs by state, the Celery queue, beat's last tick, current lockouts.

The alerts to set on them are in docs/operations.md ("Metrics and alerts").
"""

from __future__ import annotations

import hmac
import logging
import math
import os
import time
from collections import defaultdict

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db import DatabaseError, connection
from django.db.models import BooleanField, Count, ExpressionWrapper, Min, Q, Sum
from django.http import HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
UNMATCHED = "<unmatched>"  # a path that names no route (its 404), or a redirect before routing

REQUESTS = Counter(
    "vendorselect_http_requests",
    "HTTP requests answered, by route name, method and status code.",
    ["view", "method", "status"],
    registry=None,
)
LATENCY = Histogram(
    "vendorselect_http_request_duration_seconds",
    "Time from the first middleware to the response, by route name and method.",
    ["view", "method"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=None,
)
QUERIES = Histogram(
    "vendorselect_db_queries_per_request",
    "Database queries made by one request, by route name.",
    ["view"],
    buckets=(0, 1, 2, 5, 10, 20, 50, 100, 200, 500),
    registry=None,
)
LOGIN_FAILURES = Counter("vendorselect_login_failures", "Failed sign-ins (pages and API tokens).", registry=None)
LOCKOUTS = Counter("vendorselect_lockouts", "Sign-ins refused by the lockout (django-axes).", registry=None)
COUNTED = (REQUESTS, LATENCY, QUERIES, LOGIN_FAILURES, LOCKOUTS)
logger = logging.getLogger(__name__)


class _QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class MetricsMiddleware:
    """Counts each request under its route name (bounded: one series per route, not per URL)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        queries = _QueryCounter()
        with connection.execute_wrapper(queries):
            response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match is not None and match.view_name else UNMATCHED
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(view, method, str(response.status_code)).inc()
        LATENCY.labels(view, method).observe(elapsed)
        QUERIES.labels(view).observe(queries.count)
        return response


def _login_failed(**_):
    LOGIN_FAILURES.inc()


def _locked_out(**_):
    LOCKOUTS.inc()


def connect_signals() -> None:
    from axes.signals import user_locked_out

    user_login_failed.connect(_login_failed, dispatch_uid="vendorselect.metrics.login_failed")
    user_locked_out.connect(_locked_out, dispatch_uid="vendorselect.metrics.locked_out")


# Loaded with the middleware, i.e. by every web process before its first request.
connect_signals()


# --- Read at scrape time ----------------------------------------------------------------------------


def _age(then, now) -> float:
    return max((now - then).total_seconds(), 0.0) if then is not None else 0.0


def celery_queue_length() -> float | None:
    """Messages waiting in the default task queue: LLEN with a Redis broker; the transport's own count
    otherwise (the file-system broker of the embedded setup). None when the broker does not answer."""
    from celery import current_app

    from core import outbox

    url = current_app.conf.broker_url or ""
    if not url.startswith(("redis://", "rediss://")):
        backlog = outbox.broker_backlog()
        return float(backlog) if backlog is not None else None
    import redis

    timeout = settings.HEALTH_CHECK_TIMEOUT
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        return float(client.llen(current_app.conf.task_default_queue))
    except redis.RedisError:
        return None
    finally:
        client.close()


class StateCollector:
    """What the database, the cache and the broker say now; see the module's docstring."""

    def collect(self):
        try:  # read whole before yielding: a database outage gives no half scrape, only database_up 0
            state = list(self._database_state())
        except DatabaseError as error:
            logger.warning("Metrics: the database did not answer: %r", error)
            state = []
        yield GaugeMetricFamily(
            "vendorselect_database_up", "1 when the database answered this scrape.", int(bool(state))
        )
        yield from state

        length = celery_queue_length()
        yield GaugeMetricFamily(
            "vendorselect_broker_up", "1 when the broker answered this scrape.", int(length is not None)
        )
        yield GaugeMetricFamily(
            "vendorselect_celery_queue_length",
            "Tasks waiting in the broker's default queue (NaN when the broker did not answer).",
            length if length is not None else math.nan,
        )

        from core.tasks import last_beat_tick

        try:
            tick = last_beat_tick()
        except Exception as error:  # the cache (Redis) is down: the age is unknown, not +Inf
            logger.warning("Metrics: the cache did not answer: %r", error)
            return
        yield GaugeMetricFamily(
            "vendorselect_beat_last_tick_timestamp_seconds",
            "When beat's relay_outbox last ran (Unix time; 0 when never).",
            tick or 0.0,
        )
        yield GaugeMetricFamily(
            "vendorselect_beat_tick_age_seconds",
            "Seconds since beat's relay_outbox last ran (+Inf when never).",
            max(time.time() - tick, 0.0) if tick is not None else math.inf,
        )

    def _database_state(self):
        from axes.models import AccessAttempt

        from core import outbox
        from core.models import OutboxMessage

        now = timezone.now()
        pending = OutboxMessage.objects.filter(published_at=None).aggregate(
            count=Count("pk"), failing=Count("pk", filter=~Q(last_error="")), oldest=Min("created_at")
        )
        yield GaugeMetricFamily(
            "vendorselect_outbox_pending", "Outbox messages not yet published to the broker.", pending["count"]
        )
        yield GaugeMetricFamily(
            "vendorselect_outbox_publish_failing",
            "Pending outbox messages whose last publish failed (broker down).",
            pending["failing"],
        )
        yield GaugeMetricFamily(
            "vendorselect_outbox_oldest_pending_age_seconds",
            "Age of the oldest unpublished outbox message (0 when none).",
            _age(pending["oldest"], now),
        )
        yield from self._jobs(outbox.SOURCES.values(), now)

        attempts = AccessAttempt.objects.filter(attempt_time__gte=now - settings.AXES_COOLOFF_TIME).aggregate(
            locked=Count("pk", filter=Q(failures_since_start__gte=settings.AXES_FAILURE_LIMIT)),
            failures=Sum("failures_since_start"),
        )
        yield GaugeMetricFamily(
            "vendorselect_lockouts_active",
            "User name and address pairs locked out now (django-axes, within the cool-off).",
            attempts["locked"],
        )
        yield GaugeMetricFamily(
            "vendorselect_login_failures_recent",
            "Failed sign-ins recorded by django-axes within the cool-off and not yet reset by a success.",
            attempts["failures"] or 0,
        )

    def _jobs(self, sources, now):
        """One query per job model (an import's check and apply share one), grouped by status and by
        whether a worker has the row."""
        by_model: dict[type, list] = defaultdict(list)
        for source in sources:
            by_model[source.model].append(source)
        jobs = GaugeMetricFamily("vendorselect_jobs", "Rows of background work by status.", labels=["job", "status"])
        retried = GaugeMetricFamily(
            "vendorselect_jobs_retried",
            "Rows of background work taken by a worker more than once, by status.",
            labels=["job", "status"],
        )
        waiting = GaugeMetricFamily(
            "vendorselect_job_waiting", "Rows waiting for a worker, by job source.", labels=["source"]
        )
        running = GaugeMetricFamily(
            "vendorselect_job_running", "Rows a worker has taken, by job source.", labels=["source"]
        )
        waiting_age = GaugeMetricFamily(
            "vendorselect_job_oldest_waiting_age_seconds",
            "Age of the oldest row waiting for a worker (since its message was last sent), by job source.",
            labels=["source"],
        )
        running_age = GaugeMetricFamily(
            "vendorselect_job_oldest_running_age_seconds",
            "Age of the oldest row a worker is on (since it was taken), by job source.",
            labels=["source"],
        )
        for model, model_sources in by_model.items():
            label = model._meta.label_lower
            rows = (
                model._default_manager.annotate(claimed=ExpressionWrapper(~Q(claim=""), output_field=BooleanField()))
                .values("status", "claimed")
                .annotate(
                    n=Count("pk"),
                    again=Count("pk", filter=Q(attempts__gt=1)),
                    oldest_queued=Min("queued_at"),
                    oldest_started=Min("started_at"),
                )
                .order_by()
            )
            groups = {(row["status"], row["claimed"]): row for row in rows}
            by_status: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            for (status, _claimed), row in groups.items():
                by_status[status][0] += row["n"]
                by_status[status][1] += row["again"]
            for status in sorted(by_status):
                jobs.add_metric([label, status], by_status[status][0])
                retried.add_metric([label, status], by_status[status][1])
            for source in model_sources:
                idle = groups.get((source.queued, False))
                busy = groups.get((source.running, True))
                waiting.add_metric([source.name], idle["n"] if idle else 0)
                running.add_metric([source.name], busy["n"] if busy else 0)
                waiting_age.add_metric([source.name], _age(idle["oldest_queued"], now) if idle else 0.0)
                running_age.add_metric([source.name], _age(busy["oldest_started"], now) if busy else 0.0)
        yield from (jobs, retried, waiting, running, waiting_age, running_age)


def scrape_registry() -> CollectorRegistry:
    """A registry for one scrape: every process's counts (multiprocess mode) or this process's, and
    the state read now."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        for metric in COUNTED:
            registry.register(metric)
        ProcessCollector(registry=registry)
    registry.register(StateCollector())
    return registry


def _authorised(request) -> bool:
    """Only `Authorization: Bearer <METRICS_TOKEN>`, compared in constant time; no token set: no one."""
    token = settings.METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@never_cache
@require_GET
def metrics_view(request):
    if not _authorised(request):
        response = HttpResponse("A bearer token is required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)
