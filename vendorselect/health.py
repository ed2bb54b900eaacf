"""Health checks for load balancers, orchestrators and docker-compose.

- `/healthz/live`: the process answers (no database, no broker): restart it when this fails.
- `/healthz/ready` (and `/healthz`, as before): the database, the broker and the file storage answer,
  each within HEALTH_CHECK_TIMEOUT; 503 naming the one that did not: send it no traffic meanwhile.

The answers name the failing dependency and the kind of error only; the details go to the log.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_broker() -> None:
    """Redis: PING with a short timeout. Another transport (the embedded file-system broker): a
    connection with one try."""
    from celery import current_app

    url = current_app.conf.broker_url or ""
    timeout = settings.HEALTH_CHECK_TIMEOUT
    if url.startswith(("redis://", "rediss://")):
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
        return
    with current_app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=1, timeout=timeout)


def check_storage() -> None:
    """A bucket: HEAD on it (reachable, exists, credentials accepted). The file system: MEDIA_ROOT (or
    the directory it will be made in) is writable."""
    storage = default_storage
    bucket = getattr(storage, "bucket_name", None)
    if bucket:
        storage.connection.meta.client.head_bucket(Bucket=bucket)
        return
    location = getattr(storage, "location", None)
    if location is None:
        storage.exists("healthz-probe")  # another backend: it answers at least
        return
    directory = os.path.abspath(os.fspath(location))
    while not os.path.exists(directory):  # made with the first file: its nearest existing parent counts
        directory = os.path.dirname(directory)
    if not os.path.isdir(directory):
        raise NotADirectoryError(f"{directory} is not a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionError(f"{directory} is not writable")


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
    "storage": check_storage,
}


@never_cache
@require_GET
def live(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request):
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            check()
        except Exception as error:  # any failure of a dependency makes the process not ready
            logger.warning("Readiness: %s failed after %.1f s: %r", name, time.monotonic() - started, error)
            results[name] = f"failed ({type(error).__name__})"
        else:
            results[name] = "ok"
    failed = sorted(name for name, result in results.items() if result != "ok")
    status = "unavailable: " + ", ".join(failed) if failed else "ok"
    response = JsonResponse({"status": status, "checks": results}, status=503 if failed else 200)
    # Logged above as a warning: not also as a server error by Django (and e-mailed to ADMINS) at every probe.
    response._has_been_logged = True
    return response
