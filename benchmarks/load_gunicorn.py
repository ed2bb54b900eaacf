"""Gunicorn hooks for benchmarks/load.py: SQL queries and requests per Django view, per worker.

    gunicorn vendorselect.wsgi:application --config benchmarks/load_gunicorn.py ...

Only hooks, no server settings: the command line of load.py carries those (the production command).
Each worker counts the queries of its database connection during each request (an execute
wrapper: one Python call a query) and, when it exits, writes its totals as JSON to
$LOAD_STATS_DIR/worker-<pid>.json: {"requests": n, "views": {view name: [requests, queries, max]}}.
"""

import json
import os
from pathlib import Path

# --config replaces the production gunicorn.conf.py: take its request limits along.
exec((Path(__file__).resolve().parents[1] / "gunicorn.conf.py").read_text())

_totals: dict[str, list[int]] = {}
_current = {"queries": 0}


def _count(execute, sql, params, many, context):
    _current["queries"] += 1
    return execute(sql, params, many, context)


def post_worker_init(worker):
    from django.db import connections

    connections["default"].execute_wrappers.append(_count)


def pre_request(worker, req):
    _current["queries"] = 0


def post_request(worker, req, environ, resp):
    from django.urls import Resolver404, resolve

    try:
        name = resolve(req.path).view_name or req.path
    except Resolver404:
        name = "(no route)"
    row = _totals.setdefault(name, [0, 0, 0])
    row[0] += 1
    row[1] += _current["queries"]
    row[2] = max(row[2], _current["queries"])


def worker_exit(server, worker):
    directory = os.environ.get("LOAD_STATS_DIR")
    if directory:
        data = {"requests": sum(row[0] for row in _totals.values()), "views": _totals}
        Path(directory, f"worker-{os.getpid()}.json").write_text(json.dumps(data))
