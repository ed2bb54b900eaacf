"""Request ids and structured logs.

Every request gets an id: the caller's `X-Request-ID` when it is a plausible id (a load balancer's or a
client's), else a new one; it is answered in the response's `X-Request-ID` header and put on every log
record written while the request runs (`RequestIdFilter`). A task queued during the request carries it
in its message headers (`before_task_publish`), and the worker puts it back for the task's own log lines
(`task_prerun` / `task_postrun`), so that one id finds a request and the work it started. With
LOG_FORMAT=json (settings) each record is one JSON object a line (`JsonFormatter`).
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

from celery import signals
from django.core.signals import request_finished
from django.dispatch import receiver
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

HEADER = "X-Request-ID"
TASK_HEADER = "request_id"  # the Celery message header that carries it
# Ids from outside are written into logs and headers: letters, digits and . _ : - only, bounded.
_PLAUSIBLE = re.compile(r"[A-Za-z0-9._:-]{8,128}")

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
logger = logging.getLogger(__name__)


def current_request_id() -> str:
    """The id of the request (or of the request that queued the task) being handled, or ""."""
    return request_id.get()


class RequestIdMiddleware:
    """Takes or makes the request id, keeps it for the log records of the request, answers it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get(HEADER, "")
        value = given if _PLAUSIBLE.fullmatch(given) else uuid.uuid4().hex
        request.request_id = value
        # Kept until the response is closed (request_finished), so that Django's own lines about the
        # response ("Not Found: ...", written after the middleware) and a streamed download's carry it.
        request_id.set(value)
        response = self.get_response(request)
        response[HEADER] = value
        return response


@receiver(request_finished, dispatch_uid="vendorselect.logging.request_finished")
def _forget_request_id(**_):
    request_id.set("")


def _current_task():
    from celery import current_task

    return current_task if current_task and current_task.request and current_task.request.id else None


class RequestIdFilter(logging.Filter):
    """Puts `request_id` (and, in a task, `task_id` and `task_name`) on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        value = request_id.get()
        task = _current_task()
        if task is not None:
            value = value or task.request.get(TASK_HEADER) or ""
            record.task_id = task.request.id
            record.task_name = task.name
        record.request_id = value
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object a line: time, level, logger, message, request_id (and task_id, task_name in a
    task), exception text when there is one, and any `extra=` fields of the call."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        super().__init__(*args, **kwargs)

    def add_fields(self, log_data, record, message_dict):
        super().add_fields(log_data, record, message_dict)
        log_data["request_id"] = getattr(record, "request_id", "") or None


# --- The id in Celery messages (connected when vendorselect.celery imports this module) -------------

_previous: dict[str, contextvars.Token] = {}


@signals.before_task_publish.connect(dispatch_uid="vendorselect.logging.carry_request_id")
def carry_request_id(headers=None, **_):
    """Publishing a task (from a request, or from a task that a request queued): the id goes along."""
    value = request_id.get()
    if value and headers is not None:
        headers.setdefault(TASK_HEADER, value)


@signals.task_prerun.connect(dispatch_uid="vendorselect.logging.adopt_request_id")
def adopt_request_id(task_id=None, task=None, **_):
    """In the worker: the task's log records (and the tasks it queues) carry the request's id. An eager
    task (run inside the request) keeps the request's own."""
    value = task.request.get(TASK_HEADER) if task is not None else None
    if value and task_id:
        _previous[task_id] = request_id.set(str(value))
        logger.info("Task %s[%s] started for request %s", task.name, task_id, value)


@signals.task_postrun.connect(dispatch_uid="vendorselect.logging.drop_request_id")
def drop_request_id(task_id=None, **_):
    token = _previous.pop(task_id, None) if task_id else None
    if token is not None:
        try:
            request_id.reset(token)
        except ValueError:  # ended in another context (a thread pool): nothing of it to restore there
            request_id.set("")
