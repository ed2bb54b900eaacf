"""/metrics: only with the configured bearer token; request counts, latencies and queries per view;
the state read at scrape time (outbox, jobs, Celery queue, beat's tick, lockouts) in a fixed number
of queries."""

import math
import socket
import time
from datetime import timedelta

import pytest
import redis
from axes.models import AccessAttempt
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from core import outbox
from core.models import OutboxMessage
from core.tasks import BEAT_TICK_KEY, relay_outbox
from vendors.models import ImportJob
from vendorselect.metrics import StateCollector

pytestmark = pytest.mark.django_db
TOKEN = "scrape-token-0123456789abcdef"
REDIS_URL = "redis://127.0.0.1:6379/2"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client, token=TOKEN) -> dict[tuple, float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, *sorted(sample.labels.items()))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, *sorted(labels.items())), 0.0)


def test_metrics_need_the_configured_bearer_token(client, settings, users):
    settings.METRICS_TOKEN = ""
    refused = client.get("/metrics", HTTP_AUTHORIZATION="Bearer ")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    assert b"vendorselect_" not in refused.content
    settings.METRICS_TOKEN = TOKEN
    for header in ("", f"Basic {TOKEN}", "Bearer wrong-token", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}"):
        assert client.get("/metrics", HTTP_AUTHORIZATION=header).status_code == 401, header
    client.force_login(users["admin"])  # a session is no scrape credential
    assert client.get("/metrics").status_code == 401
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405
    assert "vendorselect_outbox_pending" in {name for name, *_ in scrape(client)}


def test_requests_latencies_and_queries_are_counted_per_view(client, users, token):
    before = scrape(client)
    client.force_login(users["procurement"])
    assert client.get("/vendors/").status_code == 200
    assert client.get("/vendors/").status_code == 200
    assert client.get("/no-such-page/").status_code == 404
    after = scrape(client)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("vendorselect_http_requests_total", view="vendors:list", method="GET", status="200") == 2
    assert grew("vendorselect_http_requests_total", view="<unmatched>", method="GET", status="404") == 1
    assert grew("vendorselect_http_request_duration_seconds_count", view="vendors:list", method="GET") == 2
    assert grew("vendorselect_http_request_duration_seconds_sum", view="vendors:list", method="GET") > 0
    assert grew("vendorselect_db_queries_per_request_count", view="vendors:list") == 2
    assert grew("vendorselect_db_queries_per_request_sum", view="vendors:list") >= 4  # session, user, the list
    # The scrape before this one was counted too, under its own route.
    assert grew("vendorselect_http_requests_total", view="metrics", method="GET", status="200") == 1


def test_sign_in_failures_and_lockouts_are_counted(client, users, token, settings):
    before = scrape(client)
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        client.post("/login/", {"username": "procurement", "password": "not-the-password"}, REMOTE_ADDR="10.1.2.3")
    after = scrape(client)
    failures = value(after, "vendorselect_login_failures_total") - value(before, "vendorselect_login_failures_total")
    assert failures >= settings.AXES_FAILURE_LIMIT
    assert value(after, "vendorselect_lockouts_total") - value(before, "vendorselect_lockouts_total") >= 1
    assert value(after, "vendorselect_lockouts_active") == 1
    assert value(after, "vendorselect_login_failures_recent") >= settings.AXES_FAILURE_LIMIT


def _job(user, status, *, claim="", attempts=0, queued_minutes=0, started_minutes=None) -> ImportJob:
    now = timezone.now()
    return ImportJob.objects.create(
        target="vendors",
        original_name="v.csv",
        created_by=user,
        status=status,
        claim=claim,
        attempts=attempts,
        queued_at=now - timedelta(minutes=queued_minutes),
        started_at=None if started_minutes is None else now - timedelta(minutes=started_minutes),
    )


@pytest.fixture
def redis_broker(monkeypatch):
    """The Celery app publishes to (and the metrics read) Redis database 2, emptied before and after."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis is not reachable: {error}")
    client.flushdb()
    monkeypatch.setenv("CELERY_BROKER_URL", REDIS_URL)  # Celery reads it before conf.broker_url
    yield client
    client.flushdb()
    client.close()


def test_state_is_read_at_scrape_time_in_a_fixed_number_of_queries(client, users, token, redis_broker):
    cache.delete(BEAT_TICK_KEY)
    samples = scrape(client)
    assert value(samples, "vendorselect_beat_tick_age_seconds") == math.inf  # never ticked: alert
    lead = users["procurement"]
    redis_broker.lpush("celery", "m1", "m2", "m3")
    relay_outbox.apply()  # what beat runs: records its tick
    OutboxMessage.objects.create(task="x", key="old", args=[1])
    OutboxMessage.objects.filter(key="old").update(created_at=timezone.now() - timedelta(minutes=7))
    OutboxMessage.objects.create(task="x", key="failing", args=[2], last_error="broker down")
    OutboxMessage.objects.create(task="x", key="sent", args=[], published_at=timezone.now())
    _job(lead, "queued", queued_minutes=9)
    _job(lead, "queued", queued_minutes=1)
    _job(lead, "validating", claim="task-1", attempts=2, queued_minutes=5, started_minutes=4)
    _job(lead, "applying")  # waiting for the apply's worker
    _job(lead, "failed", attempts=3)
    _job(lead, "done", attempts=1)
    AccessAttempt.objects.create(
        username="x", ip_address="10.0.0.1", user_agent="t", failures_since_start=7, get_data="", post_data=""
    )

    samples = scrape(client)
    assert value(samples, "vendorselect_celery_queue_length") == 3 == redis_broker.llen("celery")
    assert value(samples, "vendorselect_broker_up") == 1
    assert 0 <= value(samples, "vendorselect_beat_tick_age_seconds") < 60
    assert abs(value(samples, "vendorselect_beat_last_tick_timestamp_seconds") - time.time()) < 60
    assert value(samples, "vendorselect_outbox_pending") == 2
    assert value(samples, "vendorselect_outbox_publish_failing") == 1
    assert 7 * 60 <= value(samples, "vendorselect_outbox_oldest_pending_age_seconds") < 8 * 60
    job = "vendors.importjob"
    for status, count in {"queued": 2, "validating": 1, "applying": 1, "failed": 1, "done": 1}.items():
        assert value(samples, "vendorselect_jobs", job=job, status=status) == count, status
    assert value(samples, "vendorselect_jobs_retried", job=job, status="validating") == 1
    assert value(samples, "vendorselect_jobs_retried", job=job, status="failed") == 1
    assert value(samples, "vendorselect_job_waiting", source="vendors.import_check") == 2
    assert value(samples, "vendorselect_job_running", source="vendors.import_check") == 1
    assert value(samples, "vendorselect_job_waiting", source="vendors.import_apply") == 1
    waited = value(samples, "vendorselect_job_oldest_waiting_age_seconds", source="vendors.import_check")
    assert 9 * 60 <= waited < 10 * 60
    running = value(samples, "vendorselect_job_oldest_running_age_seconds", source="vendors.import_check")
    assert 4 * 60 <= running < 5 * 60
    for source in ("rfp.packet", "audits.report"):
        assert value(samples, "vendorselect_job_waiting", source=source) == 0
    assert value(samples, "vendorselect_lockouts_active") == 1

    # The collector's queries: one for the outbox, one per job model, one for the lockouts; more rows
    # do not make more queries.
    models = {source.model for source in outbox.SOURCES.values()}
    with CaptureQueriesContext(connection) as first:
        list(StateCollector().collect())
    for n in range(20):
        _job(lead, "queued")
        OutboxMessage.objects.create(task="x", key=f"more-{n}", args=[])
    with CaptureQueriesContext(connection) as second:
        list(StateCollector().collect())
    assert len(first.captured_queries) == len(second.captured_queries) == 2 + len(models)


def test_a_broker_that_does_not_answer_is_reported_not_waited_for(client, token, monkeypatch, settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{port}/0")
    started = time.monotonic()
    samples = scrape(client)
    assert time.monotonic() - started < settings.HEALTH_CHECK_TIMEOUT + 5
    assert value(samples, "vendorselect_broker_up") == 0
    assert math.isnan(value(samples, "vendorselect_celery_queue_length"))


def test_a_database_outage_still_answers_the_scrape(client, token, monkeypatch):
    from django.db import OperationalError
    from django.db.backends.utils import CursorWrapper

    def gone(self, *args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(CursorWrapper, "execute", gone)
    samples = scrape(client)
    assert value(samples, "vendorselect_database_up") == 0
    assert not any(name.startswith(("vendorselect_outbox", "vendorselect_jobs")) for name, *_ in samples)
    monkeypatch.undo()
    assert value(scrape(client), "vendorselect_database_up") == 1


def test_gunicorn_workers_counts_add_up_in_one_scrape(db, tmp_path):
    """Production's gunicorn command with two workers and PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py
    empties it at start): whichever worker answers the scrape reports the requests of both."""
    import http.client
    import os
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    from django.db import connection

    root = Path(__file__).resolve().parent.parent
    port = _free_port()
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    (multiproc / "counter_1.db").write_bytes(b"left by an earlier run")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "vendorselect.settings",
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": "x" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "vendorselect.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--no-control-socket"],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip

    def get(path: str, headers=None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("GET", path, headers={"Host": "127.0.0.1", **(headers or {})})
            response = conn.getresponse()
            return response.status, response.read().decode()
        finally:
            conn.close()

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get("/healthz/live")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stdout.read().decode()
                time.sleep(0.2)
        assert not (multiproc / "counter_1.db").exists()
        sent = 1
        for _ in range(20):  # until both workers have answered some (8 connections at a time)
            with ThreadPoolExecutor(8) as pool:
                assert set(pool.map(lambda _: get("/healthz/live")[0], range(40))) == {200}
            sent += 40
            if len(list(multiproc.glob("counter_*.db"))) == 2:
                break
        assert len(list(multiproc.glob("counter_*.db"))) == 2
        status, body = get("/metrics", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200, body
        samples = {}
        for family in text_string_to_metric_families(body):
            for sample in family.samples:
                samples[(sample.name, *sorted(sample.labels.items()))] = sample.value
        live = value(samples, "vendorselect_http_requests_total", view="healthz-live", method="GET", status="200")
        assert live == sent  # from both workers
        assert value(samples, "vendorselect_database_up") == 1
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stdout.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
