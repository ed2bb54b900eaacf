"""RFP packets rendered by real Celery worker processes on Redis (PostgreSQL only).

Three runs of the outbox -> broker -> worker path: the whole batch of an approved shortlist; a worker
killed with SIGKILL (its whole process group, pool children and PDF renderers) in the middle of a
batch, then replaced; and a broker that is unreachable when the packets are generated, so that the
outbox keeps them until the relay (what beat runs every minute) publishes them.

The test process and its workers use their own Redis database (RFP_WORKER_BROKER_URL, default
redis://127.0.0.1:6379/13), flushed at the start of each test. Workers run with the project's
settings, except in the kill test: on Redis a message whose worker died without acknowledging it
goes back to the queue only after the visibility timeout (2 x CELERY_TASK_TIME_LIMIT = 1320 s in
production), so that test's workers use VISIBILITY seconds and sweep for such messages every second.
Figures (recovery time, redeliveries, ...) are printed: run with -s to see them.
"""

from __future__ import annotations

import hashlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from pypdf import PdfReader

from core import outbox
from core.models import OutboxMessage
from rfp import services
from rfp.models import Packet
from scoring.models import Shortlist, ShortlistEntry
from tests.rfp.conftest import rfp_values
from vendorselect.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
BROKER = os.environ.get("RFP_WORKER_BROKER_URL", "redis://127.0.0.1:6379/13")
VISIBILITY = 15  # s before Redis gives a dead worker's unacknowledged message to another (kill test)
# `celery worker`, optionally with a short visibility timeout and a restore sweep every second.
WORKER_MAIN = """
import sys
from vendorselect.celery import app
if sys.argv[1] != "-":
    app.conf.broker_transport_options = {
        "visibility_timeout": float(sys.argv[1]),
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
        # A worker killed during its own restore sweep leaves the sweep's lock behind until it
        # expires (300 s by default): shortened like the visibility timeout.
        "unacked_mutex_expire": 5,
    }
app.worker_main(["worker", *sys.argv[2:]])
"""
KINDS = [["CDMO"], ["CRO"], ["CMO"], ["CDMO", "CRO"]]

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True), pytest.mark.timeout(150)]


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("the worker shares the test database only on PostgreSQL")
    user = db["USER"] or "postgres"
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _redis():
    import redis

    client = redis.Redis.from_url(BROKER, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis is not reachable at {BROKER}: {error}")
    return client


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _point_app_at(url: str, options: dict) -> None:
    """Publish from this process to `url`: drop the cached connection and producer pools too."""
    # Celery prefers the CELERY_BROKER_URL environment variable (CI sets it) over conf.broker_url.
    if url is None:
        os.environ.pop("CELERY_BROKER_URL", None)
    else:
        os.environ["CELERY_BROKER_URL"] = url
    celery_app.conf.broker_url = url
    celery_app.conf.broker_transport_options = options
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


class Broker:
    def __init__(self, client):
        self.redis = client

    @contextmanager
    def unreachable(self):
        """The broker is down (nothing listens on the port) for what runs inside."""
        _point_app_at(f"redis://127.0.0.1:{_closed_port()}/13", {})
        try:
            yield
        finally:
            _point_app_at(BROKER, {})

    def backlog(self) -> tuple[int, int]:
        """Messages waiting in the queue, and delivered but not acknowledged."""
        return self.redis.llen("celery"), self.redis.hlen("unacked")


@pytest.fixture
def broker():
    _database_url()
    client = _redis()
    client.flushdb()
    previous = (celery_app.conf.task_always_eager, celery_app.conf.broker_url, celery_app.conf.broker_transport_options)
    environment = os.environ.get("CELERY_BROKER_URL")
    celery_app.conf.task_always_eager = False
    _point_app_at(BROKER, {})
    yield Broker(client)
    celery_app.conf.task_always_eager = previous[0]
    _point_app_at(previous[1], previous[2])
    if environment is None:
        os.environ.pop("CELERY_BROKER_URL", None)
    else:
        os.environ["CELERY_BROKER_URL"] = environment
    client.flushdb()
    client.close()


class Worker:
    """`celery worker` in its own process group (session), logging to a file."""

    def __init__(self, name: str, log: Path, concurrency: int, visibility: float | None):
        self.name, self.log_path = name, log
        env = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "DJANGO_SETTINGS_MODULE": "vendorselect.test_settings",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "CELERY_BROKER_URL": BROKER,
        }
        command = [
            sys.executable,
            "-c",
            WORKER_MAIN,
            str(visibility) if visibility else "-",
            f"--hostname={name}@%h",
            "--pool=prefork",
            f"--concurrency={concurrency}",
            "--loglevel=info",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ]
        self.log_file = log.open("w")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=self.log_file, stderr=subprocess.STDOUT, start_new_session=True
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 60) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if "ready." in self.log():
                return time.monotonic() - started
            if self.process.poll() is not None:
                raise AssertionError(f"worker {self.name} exited:\n{self.log()[-3000:]}")
            time.sleep(0.1)
        raise AssertionError(f"worker {self.name} not ready after {timeout}s:\n{self.log()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL to the whole group: main process, pool children, PDF renderers; no warm shutdown."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # warm shutdown: running tasks finish, the rest is returned
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        with suppress(ProcessLookupError, PermissionError):  # what is left of its group (renderers...)
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log_file.close()

    def count(self, word: str) -> int:
        return sum(1 for line in self.log().splitlines() if "render_packet[" in line and word in line)


@pytest.fixture
def workers(broker, tmp_path):
    started: list[Worker] = []

    def start(name: str, concurrency: int = 2, visibility: float | None = None) -> Worker:
        worker = Worker(name, tmp_path / f"{name}.log", concurrency, visibility)
        started.append(worker)
        worker.ready_s = worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()
        print(f"--- worker {worker.name} (last lines)\n{worker.log()[-1500:]}")


@pytest.fixture
def lead():
    """Roles, vocabularies and templates re-applied (an earlier transactional test may have flushed
    them), and the procurement lead who runs the evaluation."""
    from accounts.roles import PROCUREMENT_LEAD
    from tests.factories import UserFactory
    from vendorselect.management.commands.seed_demo import Command

    Command().ensure_reference_data()
    return UserFactory(username="packet-lead", first_name="Priya", last_name="Raman", roles=[PROCUREMENT_LEAD])


def approved_rfp(lead, vendors: int):
    """An RFP for an approved shortlist of `vendors` vendors of mixed kinds (all four templates).
    The shortlist rows are written directly and approved by an update: signing is tested elsewhere."""
    from scoring import services as scoring
    from scoring import shortlists
    from tests.factories import InspectionFactory, SiteFactory, VendorFactory

    evaluation = scoring.evaluation_create(lead=lead, name=f"Worker packets x{vendors}")
    candidates = []
    for i in range(vendors):
        vendor = VendorFactory(name=f"Packet Vendor {i:02d}", kinds=KINDS[i % len(KINDS)])
        InspectionFactory(site=SiteFactory(vendor=vendor), classification="NAI")
        candidates.append(scoring.candidate_add(evaluation=evaluation, user=lead, vendor=vendor))
    shortlist = Shortlist.objects.create(evaluation=evaluation, version=1, proposed_by=lead)
    ShortlistEntry.objects.bulk_create([ShortlistEntry(shortlist=shortlist, candidate=c) for c in candidates])
    snapshot = shortlists.build_snapshot(shortlist, timezone.now())
    Shortlist.objects.filter(pk=shortlist.pk).update(
        status=Shortlist.Status.APPROVED, snapshot=snapshot, snapshot_hash=shortlists.snapshot_hash(snapshot)
    )
    shortlist = Shortlist.objects.get(pk=shortlist.pk)
    return services.rfp_create(shortlist=shortlist, user=lead, **rfp_values())


def statuses(rfp) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in Packet.objects.filter(rfp=rfp).values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return counts


def wait_until(condition, timeout: float, what: str, poll: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"{what}: not reached within {timeout}s")


def wait_all_finished(rfp, count: int, timeout: float) -> float:
    started = time.monotonic()

    def finished():
        counts = statuses(rfp)
        return sum(counts.get(s, 0) for s in ("done", "failed")) == count

    try:
        wait_until(finished, timeout, "every packet generated")
    except AssertionError as error:
        raise AssertionError(f"{error}; statuses {statuses(rfp)}") from None
    return time.monotonic() - started


def check_packets(rfp) -> list[Packet]:
    """Exactly one packet per shortlisted vendor, version 1, generated, with intact files."""
    vendors = set(rfp.shortlist.entries.values_list("candidate__vendor__name", flat=True))
    packets = list(Packet.objects.filter(rfp=rfp).select_related("candidate__vendor"))
    assert sorted(p.candidate.vendor.name for p in packets) == sorted(vendors)  # one row per vendor
    for packet in packets:
        name = packet.candidate.vendor.name
        assert (packet.status, packet.version, packet.error) == ("done", 1, ""), (name, packet.error)
        with packet.bundle.open("rb") as handle:
            zipped = handle.read()
        assert hashlib.sha256(zipped).hexdigest() == packet.sha256, name
        with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
            names = archive.namelist()
            assert any(n.endswith(".pdf") for n in names) and any(n.endswith("-questionnaire.xlsx") for n in names)
        with packet.pdf.open("rb") as handle:
            reader = PdfReader(io.BytesIO(handle.read()))
        assert len(reader.pages) == packet.pdf_pages >= 4, name
        text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
        assert name in text and f"RFP-{rfp.pk:05d}" in text, name
    return packets


def bundles_written(rfp) -> int:
    """ZIP files stored for this RFP: more than one per packet means a render was stored twice."""
    folder = Path(settings.MEDIA_ROOT) / "packets"
    return sum(1 for f in folder.rglob(f"RFP-{rfp.pk:05d}-*.zip")) if folder.exists() else 0


def drained(broker: Broker) -> bool:
    return broker.backlog() == (0, 0)


def test_a_real_worker_renders_every_packet_of_the_shortlist(workers, broker, lead):
    rfp = approved_rfp(lead, 6)
    worker = workers("rfp-a")
    started = time.monotonic()
    packets = services.rfp_generate(rfp=rfp, user=lead)
    assert len(packets) == 6
    assert not OutboxMessage.objects.filter(published_at=None).exists()  # published on commit
    elapsed = wait_all_finished(rfp, 6, timeout=90)
    check_packets(rfp)
    wait_until(lambda: drained(broker), 15, "every message acknowledged")
    assert worker.count("received") == 6 and worker.count("succeeded") == 6
    assert bundles_written(rfp) == 6
    assert list(Packet.objects.filter(rfp=rfp).values_list("attempts", flat=True)) == [1] * 6
    # Generating again with unchanged inputs reuses every packet: nothing is queued or rendered.
    assert services.rfp_generate(rfp=rfp, user=lead) and OutboxMessage.objects.count() == 6
    total = time.monotonic() - started
    print(
        f"\n[a] 6 packets, 1 worker x2: worker ready in {worker.ready_s:.1f}s; all done {elapsed:.1f}s "
        f"after generate ({total:.1f}s incl. checks)"
    )


def test_b_a_worker_killed_mid_batch_loses_and_duplicates_nothing(workers, broker, lead):
    count = 12
    rfp = approved_rfp(lead, count)
    first = workers("rfp-b1", visibility=VISIBILITY)
    services.rfp_generate(rfp=rfp, user=lead)

    def in_flight():
        counts = statuses(rfp)
        return counts if counts.get("done", 0) >= 2 and counts.get("rendering", 0) >= 1 else None

    wait_until(in_flight, 90, "some packets generated and some rendering", poll=0.05)
    killed_at = time.monotonic()
    first.kill()
    time.sleep(0.5)  # a statement the worker sent just before it died may still commit
    at_kill = statuses(rfp)  # what the dead worker left
    rendering_ids = set(Packet.objects.filter(rfp=rfp, status="rendering").values_list("pk", flat=True))
    backlog_at_kill = broker.backlog()
    assert rendering_ids and at_kill.get("done", 0) < count, f"nothing was cut off by the kill: {at_kill}"

    second = workers("rfp-b2", visibility=VISIBILITY)
    swept = 0
    try:
        wait_all_finished(rfp, count, timeout=60)
    except AssertionError:
        # Kombu's Redis transport pops a message before it records it as unacknowledged: a worker killed
        # between the two loses it, and no visibility timeout brings it back. Production's beat sweeps for
        # rows still waiting once the queue is empty (core.outbox.sweep) and announces them again: run
        # that sweep as beat would, once the replacement has emptied the broker.
        wait_until(lambda: drained(broker), 15, "the replacement worker emptied the broker")
        assert set(statuses(rfp)) <= {"done", "queued"}, statuses(rfp)
        with override_settings(OUTBOX_REQUEUE_AFTER=0):
            swept = sum(counts["announced"] for counts in outbox.sweep().values())
        outbox.relay()
        assert swept == statuses(rfp).get("queued", 0), (swept, statuses(rfp))
        wait_all_finished(rfp, count, timeout=60)
    recovered = time.monotonic() - killed_at
    packets = check_packets(rfp)
    wait_until(lambda: drained(broker), 15, "every message acknowledged")
    attempts = {p.pk: p.attempts for p in packets}
    # The renders cut off by the kill were taken again by the redelivery of the same message.
    assert all(attempts[pk] >= 2 for pk in rendering_ids), attempts
    assert Packet.objects.filter(rfp=rfp).count() == count
    redone = sum(a - 1 for a in attempts.values())
    received = first.count("received") + second.count("received")
    print(
        f"\n[b] {count} packets, worker x2 killed (SIGKILL to its process group) at {at_kill} "
        f"(queue, unacked) = {backlog_at_kill}; replacement ready in {second.ready_s:.1f}s; "
        f"every packet done {recovered:.1f}s after the kill (visibility timeout {VISIBILITY}s); "
        f"lost 0 ({swept} announced again by the sweep), packet rows {count}, deliveries {received} for {count} "
        f"messages, renders repeated {redone}, "
        f"bundles stored {bundles_written(rfp)} (unreferenced {bundles_written(rfp) - count})"
    )


def test_c_redis_down_at_publish_keeps_the_outbox_until_the_relay(workers, broker, lead):
    from core import tasks

    count = 4
    rfp = approved_rfp(lead, count)
    worker = workers("rfp-c")
    with broker.unreachable():
        started = time.monotonic()
        packets = services.rfp_generate(rfp=rfp, user=lead)  # the relay on commit cannot publish
        refused_s = time.monotonic() - started
    assert len(packets) == count
    pending = list(OutboxMessage.objects.filter(published_at=None))
    assert len(pending) == count and all("111" in m.last_error or "refused" in m.last_error for m in pending), [
        m.last_error for m in pending
    ]
    time.sleep(1)
    assert statuses(rfp) == {"queued": count} and broker.backlog() == (0, 0)  # nothing reached the broker

    # Redis is reachable again: what beat sends every minute, run by the worker.
    relayed_at = time.monotonic()
    tasks.relay_outbox.delay()
    wait_until(lambda: not OutboxMessage.objects.filter(published_at=None).exists(), 30, "the outbox relayed")
    relay_s = time.monotonic() - relayed_at
    wait_all_finished(rfp, count, timeout=90)
    done_s = time.monotonic() - relayed_at
    check_packets(rfp)
    wait_until(lambda: drained(broker), 15, "every message acknowledged")
    assert worker.count("received") == count and bundles_written(rfp) == count
    assert outbox.relay() == 0  # nothing left to publish; a second run is a no-op
    print(
        f"\n[c] {count} packets: generate with the broker down took {refused_s:.1f}s and left {len(pending)} "
        f"outbox rows pending; relay task published them {relay_s:.1f}s after it was sent; all done "
        f"{done_s:.1f}s after the relay; lost 0, deliveries {worker.count('received')}"
    )
