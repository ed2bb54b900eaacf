import os

from celery import Celery, signals

from vendorselect import logging as request_logging  # the request id travels with the tasks (signals)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vendorselect.settings")

app = Celery("vendorselect")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

__all__ = ["app", "request_logging"]


@signals.worker_init.connect
def load_pdf_renderer(**_):
    """Import WeasyPrint in the worker's main process, before the pool forks: every pool process then
    starts with it loaded instead of paying ~0.8 s on its first PDF (imports start no thread)."""
    from core import pdfsandbox  # noqa: F401
