"""Gunicorn settings of the production web process: gunicorn reads ./gunicorn.conf.py from its
working directory (/app in the image, where the Dockerfile's CMD and compose's web command run).

Only the HTTP request limits, a garbage-collector hook and the hooks of Prometheus' multiprocess mode
live here; bind, workers and timeout stay on the command line.
A command that passes its own --config replaces this file (benchmarks/load_gunicorn.py reads it in).
"""

import gc
import os
import shutil

# Longest request line (method, path with query string, protocol). Gunicorn's default, 4094,
# answers 414 to list filters the OpenAPI schema allows (e.g. ?q= of 255 characters plus many
# repeated kind=, country=, service= filters, percent-encoded); 8190 is gunicorn's maximum.
limit_request_line = 8190
# Headers: gunicorn's defaults (100 fields of up to 8190 bytes each), set here so that every
# request limit is in one place.
limit_request_fields = 100
limit_request_field_size = 8190


def post_worker_init(worker):
    """Freeze what loading the application made (modules, URL patterns, templates): the collector then
    skips it at every full collection, which otherwise paused a 500-candidate ranking for 90-150 ms."""
    gc.collect()
    gc.freeze()


def on_starting(server):
    """PROMETHEUS_MULTIPROC_DIR (vendorselect/metrics.py): each worker writes its counts there and a
    scrape adds them up; the directory is emptied at start, so that a restart does not add old ones."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory, exist_ok=True)


def child_exit(server, worker):
    """A worker that ended (restarted, killed) leaves its counters, minus its live-only gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
