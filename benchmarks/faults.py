"""Fault injection at scale: a 200-packet RFP batch through real workers while things break.

    .venv/bin/python benchmarks/faults.py [--packets 200] [--only kill,redis,postgres]

It starts its own PostgreSQL (initdb in a temporary directory, port 5440) and Redis (port 6390,
no persistence, like the machine's) so that it can restart them without disturbing anything else,
and a temporary media directory; everything is removed at the end. Needs PostgreSQL's server
binaries (/usr/lib/postgresql/*/bin) and redis-server; run as root it starts PostgreSQL as the
postgres user.

Each scenario queues the batch again from scratch (packets queued, files removed), waits until 30 %
are generated, breaks something, and waits until every packet is generated or --timeout passes:
  kill      kill -9 of the whole worker (main process and pool) and a new worker started at once,
            as a supervisor (compose's restart policy, systemd) would;
  redis     Redis shut down without saving and started again empty 2 s later (the queue is gone);
  postgres  PostgreSQL restarted (fast: connections dropped) while the workers render and two
            API clients create vendors through gunicorn with production settings.
It prints, per scenario: packets generated, lost (not generated in the end), failed, generated
twice (more than one packet row per vendor, or more than one finished bundle file for a packet),
re-claimed (a redelivered message took over an interrupted render), the time from the fault until
packets were again being generated and until the batch was complete; for postgres also the API
writes acknowledged, lost (acknowledged but not in the database) and the answers during the outage.

The workers run with CELERY_TASK_SOFT_TIME_LIMIT=10 s (hard 70 s, so Redis hands an unacknowledged
message of a dead worker to another after 140 s, and the sweep takes over a dead render after
140 s), OUTBOX_REQUEUE_AFTER=20 s and beat every 5 s; production's 600/660/1320 s, 120 s and 60 s
stretch those waits to ~22 min for the renders cut off by a kill, ~2–3 min for the rest.
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.packets import Service, celery_worker  # noqa: E402 - needs the path above

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vendorselect.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")
PORT, PG_PORT, REDIS_PORT = 8767, 5440, 6390
DATABASE = f"postgres://postgres@127.0.0.1:{PG_PORT}/faults"
BROKER = f"redis://127.0.0.1:{REDIS_PORT}/0"
# Shorter than production so that a scenario ends in minutes; see the module's docstring.
FAST = {"CELERY_TASK_SOFT_TIME_LIMIT": "10", "OUTBOX_REQUEUE_AFTER": "20", "OUTBOX_RELAY_SECONDS": "5"}


class Postgres:
    """A private PostgreSQL server in a temporary directory, restartable at will."""

    def __init__(self, scratch: Path):
        self.bin = Path(sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1])
        self.data = scratch / "pgdata"
        self.data.mkdir()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(scratch, "postgres")
            shutil.chown(self.data, "postgres")
        self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {PG_PORT} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=on"
        self.pg_ctl = ["pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.data / "server.log"), "-w"]
        self.run(*self.pg_ctl, "start")
        self.run("createdb", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", "faults")

    def run(self, program: str, *args: str) -> None:
        subprocess.run([*self.as_postgres, str(self.bin / program), *args], check=True, capture_output=True)

    def restart(self) -> None:
        self.run(*self.pg_ctl, "-m", "fast", "restart")

    def stop(self) -> None:
        subprocess.run([*self.as_postgres, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"])


class Redis:
    """A private Redis without persistence (as the machine's), restartable empty."""

    def __init__(self, scratch: Path):
        self.command = ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", str(REDIS_PORT)]
        self.command += ["--save", "", "--appendonly", "no", "--dir", str(scratch)]
        self.command += ["--logfile", str(scratch / "redis.log")]
        self.start()

    def start(self) -> None:
        subprocess.run(self.command, check=True)
        for _ in range(50):
            if self.ping():
                return
            time.sleep(0.1)
        raise SystemExit("redis-server did not start")

    def ping(self) -> bool:
        answer = subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "ping"], capture_output=True, text=True)
        return answer.stdout.strip() == "PONG"

    def stop(self) -> None:
        subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "shutdown", "nosave"], capture_output=True)
        while self.ping():
            time.sleep(0.1)


def log(scratch: Path, name: str) -> Path:
    return scratch / f"{name}-{time.monotonic_ns()}.log"


def worker(scratch: Path, env: dict) -> Service:
    return celery_worker(log(scratch, "worker"), env)


def beat(scratch: Path, env: dict) -> Service:
    schedule = str(scratch / "beat-schedule")
    command = [sys.executable, "-m", "celery", "-A", "vendorselect", "beat", "--loglevel=info", "-s", schedule]
    return Service("beat", command, log(scratch, "beat"), env, "beat: Starting")


def gunicorn(scratch: Path, env: dict) -> Service:
    command = [sys.executable, "-m", "gunicorn", "vendorselect.wsgi", "-b", f"127.0.0.1:{PORT}", "-w", "3"]
    return Service("gunicorn", command, log(scratch, "gunicorn"), env, "Booting worker")


def db_retry(function, *args):
    """The ORM from this script, across a PostgreSQL restart."""
    from django.db import OperationalError, connections

    for _ in range(120):
        try:
            return function(*args)
        except OperationalError:
            connections.close_all()
            time.sleep(0.5)
    raise SystemExit("PostgreSQL did not come back within a minute")


def done_count(ids) -> int:
    from rfp.models import Packet

    return Packet.objects.filter(pk__in=ids, status="done").count()


def settled_count(ids) -> int:
    from rfp.models import Packet

    return Packet.objects.filter(pk__in=ids, status__in=["done", "failed"]).count()


def reset(ids, media: Path) -> None:
    """Queue the batch again as if just generated: no files, no claims, fresh outbox messages."""
    from django.utils import timezone

    from core.models import OutboxMessage
    from rfp import services
    from rfp.models import Packet

    shutil.rmtree(media / "packets", ignore_errors=True)
    Packet.objects.filter(pk__in=ids).update(
        status="queued", claim="", error="", attempts=0, pdf="", questionnaire="", bundle="", sha256="",
        started_at=None, finished_at=None, queued_at=timezone.now(),
    )  # fmt: skip
    stamp = time.time_ns()
    OutboxMessage.objects.bulk_create(
        [OutboxMessage(task=services.RENDER_TASK, key=f"faults:{stamp}:{pk}", args=[pk]) for pk in ids]
    )


def outcome(ids, rfp_id: int, media: Path, since) -> dict:
    """Counted from the packets, their audit trail (every change of a packet is an event row) and the
    files: a packet generated twice would show two changes to "done" since the reset."""
    from django.apps import apps
    from django.db.models import Count

    from rfp.models import Packet

    packets = Packet.objects.filter(pk__in=ids)
    statuses = Counter(packets.values_list("status", flat=True))
    rows = Packet.objects.filter(rfp_id=rfp_id).values("candidate").annotate(n=Count("pk")).filter(n__gt=1).count()
    done_events = (
        apps.get_model("rfp", "PacketEvent")
        .objects.filter(pgh_obj_id__in=ids, pgh_created_at__gte=since, status="done")
        .values("pgh_obj_id")
        .annotate(n=Count("pgh_id"))
        .filter(n__gt=1)
        .count()
    )
    files = sum(1 for path in (media / "packets").rglob("*") if path.is_file())
    generated = statuses.get("done", 0)
    return {
        "generated": generated,
        "lost": len(ids) - generated - statuses.get("failed", 0),
        "failed": statuses.get("failed", 0),
        "twice": rows + done_events,
        "reclaimed": packets.filter(attempts__gt=1).count(),
        "stray_files": files - 3 * generated,  # saved by a render that was cut off before it finished
    }


class Writers:
    """Two API clients creating vendors through gunicorn, recording every answer."""

    def __init__(self, token: str):
        self.token, self.stop = token, threading.Event()
        self.answers: list[tuple[float, int | str, str]] = []  # (time, status or error, vendor name)
        self.threads = [threading.Thread(target=self.run, args=(n,), daemon=True) for n in range(2)]
        for thread in self.threads:
            thread.start()

    def run(self, n: int) -> None:
        i = 0
        while not self.stop.is_set():
            i += 1
            name = f"Fault Writer {n}-{i:05d}"
            body = json.dumps({"name": name, "kinds": ["CRO"], "country": "DE"}).encode()
            request = urllib.request.Request(
                f"http://127.0.0.1:{PORT}/api/v1/vendors/",
                data=body,
                method="POST",
                headers={
                    "Authorization": f"Token {self.token}",
                    "Content-Type": "application/json",
                    "X-Forwarded-Proto": "https",  # what the TLS proxy in front of gunicorn sends
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError as error:
                status = type(error).__name__
            self.answers.append((time.monotonic(), status, name))
            time.sleep(0.05)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


def scenario(name: str, ids, rfp_id: int, scratch: Path, env: dict, timeout: float, token: str, servers) -> dict:
    from django.db.models.functions import Now

    from core import outbox
    from rfp.models import Packet

    media = scratch / "media"
    db_retry(reset, ids, media)
    since = db_retry(lambda: Packet.objects.annotate(now=Now()).values_list("now", flat=True).first())
    services_up = [worker(scratch, env), beat(scratch, env)]
    writers = None
    if name == "postgres":
        services_up.append(gunicorn(scratch, {**env, **PRODUCTION}))
        writers = Writers(token)
    result: dict = {"scenario": name}
    try:
        started = time.monotonic()
        db_retry(outbox.relay)
        while db_retry(done_count, ids) < 0.3 * len(ids):
            if time.monotonic() - started > timeout:
                raise SystemExit(f"{name}: the batch did not reach 30 % within {timeout:.0f} s")
            time.sleep(0.1)
        done_before = db_retry(done_count, ids)
        fault = time.monotonic()
        if name == "kill":
            services_up[0].kill()
            services_up[0] = worker(scratch, env)
        elif name == "redis":
            servers["redis"].stop()
            time.sleep(2)
            servers["redis"].start()
        elif name == "postgres":
            servers["postgres"].restart()
        result["fault_took_s"] = time.monotonic() - fault
        resumed = None
        while True:
            done = db_retry(done_count, ids)
            if resumed is None and done > done_before + 2:  # beyond what was finishing at the fault
                resumed = time.monotonic() - fault
            if db_retry(settled_count, ids) == len(ids):
                break
            if time.monotonic() - fault > timeout:
                break
            time.sleep(0.2)
        result["resumed_s"] = resumed
        result["complete_s"] = time.monotonic() - fault
        result["done_at_fault"] = done_before
        if writers:
            writers.finish()
            result.update(writer_outcome(writers, fault))
    finally:
        if writers:
            writers.finish()
        for service in services_up:
            service.kill(signal.SIGTERM)
    result.update(db_retry(outcome, ids, rfp_id, media, since))
    return result


def writer_outcome(writers: Writers, fault: float) -> dict:
    from vendors.models import Vendor

    acknowledged = [name for _, status, name in writers.answers if status == 201]
    stored = set(Vendor.objects.filter(name__startswith="Fault Writer").values_list("name", flat=True))
    refused = [(t - fault, status) for t, status, _ in writers.answers if t >= fault and status != 201]
    last_refused = max((t for t, _ in refused), default=None)
    resumed = None
    if last_refused is not None:
        resumed = next(
            (t - fault for t, status, _ in writers.answers if t - fault > last_refused and status == 201), None
        )
    return {
        "writes": len(writers.answers),
        "answers": dict(Counter(str(status) for _, status, _ in writers.answers)),
        "acknowledged": len(acknowledged),
        "acknowledged_lost": len(set(acknowledged) - stored),
        "server_errors_500": sum(1 for _, status, _ in writers.answers if status == 500),
        "outage_answers": dict(Counter(str(status) for _, status in refused)),
        "writes_resumed_s": resumed,
    }


PRODUCTION: dict = {}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--packets", type=int, default=200)
    parser.add_argument("--only", default="kill,redis,postgres", help="comma-separated scenarios")
    parser.add_argument("--timeout", type=float, default=600, help="seconds a scenario may take")
    args = parser.parse_args()

    from benchmarks.packets import build

    scratch = Path(tempfile.mkdtemp(prefix="faults-"))
    servers = {}
    os.environ.update(DATABASE_URL=DATABASE, VENDORSELECT_VAR_DIR=str(scratch), CELERY_BROKER_URL=BROKER)
    os.environ.update(CELERY_TASK_ALWAYS_EAGER="0", **FAST)
    env = {**os.environ}
    PRODUCTION.update(
        DJANGO_DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="127.0.0.1", SECURE_HSTS_SECONDS="0"
    )
    results = []
    try:
        servers["postgres"], servers["redis"] = Postgres(scratch), Redis(scratch)
        import django

        django.setup()
        import logging

        for noisy in ("weasyprint", "fontTools", "pgtrigger"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        from django.core.management import call_command
        from rest_framework.authtoken.models import Token

        from accounts.models import User

        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        rfp, ids = build(args.packets)
        servers["redis"].stop()  # the generation's messages: each scenario publishes its own
        servers["redis"].start()
        token = Token.objects.create(user=User.objects.get(username="bench-lead")).key
        print(
            f"private PostgreSQL :{PG_PORT} and Redis :{REDIS_PORT}; {len(ids)} packets of RFP {rfp.pk} in "
            f"{time.perf_counter() - started:.0f} s; worker --concurrency 2, beat every "
            f"{FAST['OUTBOX_RELAY_SECONDS']} s, soft time limit {FAST['CELERY_TASK_SOFT_TIME_LIMIT']} s, "
            f"OUTBOX_REQUEUE_AFTER {FAST['OUTBOX_REQUEUE_AFTER']} s"
        )
        for name in args.only.split(","):
            result = scenario(name, ids, rfp.pk, scratch, env, args.timeout, token, servers)
            results.append(result)
            report(result, len(ids))
        from django.db import connections

        connections.close_all()
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    bad = [r["scenario"] for r in results if r["lost"] or r["twice"] or r["failed"] or r.get("acknowledged_lost")]
    if bad:
        raise SystemExit(f"jobs lost, failed or duplicated in: {', '.join(bad)}")


def report(r: dict, total: int) -> None:
    resumed = f"{r['resumed_s']:.1f} s" if r["resumed_s"] is not None else "never"
    print(
        f"  {r['scenario']:9s} fault at {r['done_at_fault']}/{total} done (took {r['fault_took_s']:.1f} s): "
        f"generated {r['generated']}, lost {r['lost']}, failed {r['failed']}, generated twice {r['twice']}, "
        f"re-claimed {r['reclaimed']}, stray files {r['stray_files']}; generating again {resumed} after the "
        f"fault, batch complete {r['complete_s']:.1f} s after it"
    )
    if "writes" in r:
        resumed = f"{r['writes_resumed_s']:.1f} s" if r["writes_resumed_s"] is not None else "-"
        print(
            f"            API writes: {r['writes']} sent, {r['acknowledged']} acknowledged (201), "
            f"{r['acknowledged_lost']} acknowledged but lost, {r['server_errors_500']} answered 500; "
            f"other answers after the fault: {r['outage_answers'] or 'none'}; writes succeeded again {resumed} "
            "after the fault"
        )


if __name__ == "__main__":
    main()
