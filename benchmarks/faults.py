"""Fault injection at scale: batches of background jobs through real workers while things break.

    .venv/bin/python benchmarks/faults.py [--packets 200] [--reports 100] [--imports 50]
        [--kinds packets,reports,imports] [--only kill,redis,postgres,s3] [--s3-outage 20]

It starts its own PostgreSQL (initdb in a temporary directory, port 5440) and Redis (port 6390,
no persistence, like the machine's) so that it can restart them without disturbing anything else,
and a temporary media directory; everything is removed at the end. Needs PostgreSQL's server
binaries (/usr/lib/postgresql/*/bin) and redis-server; run as root it starts PostgreSQL as the
postgres user.

Three kinds of job, every one through core.outbox (enqueue, relay, claim, sweep):
  packets   an RFP's packets (rfp.services.PACKETS): PDF, questionnaire and ZIP per vendor;
  reports   audit report PDFs of one drafted audit (audits.report.REPORTS);
  imports   register imports (vendors ImportJob): each file of 3 new vendors is checked by one task
            (IMPORT_CHECKS) and, once the script confirms it as a user would, applied by another
            (IMPORT_APPLIES), all or nothing.

For each kind, each scenario queues the batch again from scratch (packets and reports queued, files
removed; imports: new files of new vendors), waits until 30 % are finished, breaks something, and
waits until every job is finished or --timeout passes:
  kill      kill -9 of the whole worker (main process and pool) and a new worker started at once,
            as a supervisor (compose's restart policy, systemd) would;
  redis     Redis shut down without saving and started again empty 2 s later (the queue is gone);
  postgres  PostgreSQL restarted (fast: connections dropped) while the workers run and two
            API clients create vendors through gunicorn with production settings;
  s3        files on S3 (core.storage.S3Storage) instead of the file system: a moto server (moto's
            server mode, requirements-dev.txt) behind a TCP relay of this script; the worker, beat and
            gunicorn (production settings) use the relay as their S3 endpoint. The fault closes the
            relay for --s3-outage seconds (new connections refused, open ones cut mid-transfer: the
            endpoint unreachable) and opens it again, while a client signed in as the RFP's lead asks
            for the RFP page and a generated packet's PDF and uploads an attachment (API) to a second
            RFP, recording every answer: 503 with a message while storage is away, never 500.
            (moto keeps its objects in memory: a killed server would come back empty, so the relay,
            not the server, goes away; tests/test_storage.py kills and restarts a real one.)
It prints, per kind and scenario: jobs finished, lost (not finished in the end), failed, done twice
(packets: more than one packet row per vendor, or two changes to "done" in the trail; reports: two
changes to "done" in the trail; imports: a vendor written twice, or a job's vendors not all there),
re-claimed (a redelivered message or the sweep took over an interrupted job), stray files (s3: objects in
the bucket that no row names, and files a row names that are missing), the time
from the fault until jobs were again being finished and until the batch was complete; for postgres
also the API writes acknowledged, lost (acknowledged but not in the database) and the answers during
the outage.

The workers run with CELERY_TASK_SOFT_TIME_LIMIT=10 s (hard 70 s, so Redis hands an unacknowledged
message of a dead worker to another after 140 s, and the sweep takes over a dead job after
140 s), OUTBOX_REQUEUE_AFTER=20 s and beat every 5 s; production's 600/660/1320 s, 120 s and 60 s
stretch those waits to ~22 min for the jobs cut off by a kill, ~2–3 min for the rest.
"""

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
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
from benchmarks.packets_s3_memory import MotoServer  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vendorselect.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")
PORT, PG_PORT, REDIS_PORT = 8767, 5440, 6390
DATABASE = f"postgres://postgres@127.0.0.1:{PG_PORT}/faults"
BROKER = f"redis://127.0.0.1:{REDIS_PORT}/0"
# Shorter than production so that a scenario ends in minutes; see the module's docstring.
FAST = {"CELERY_TASK_SOFT_TIME_LIMIT": "10", "OUTBOX_REQUEUE_AFTER": "20", "OUTBOX_RELAY_SECONDS": "5"}
SCENARIOS = ("kill", "redis", "postgres", "s3")


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


class S3Relay:
    """A TCP relay in front of the S3 server: its port is the endpoint the app uses. `down()` closes the
    listening socket (connections refused) and cuts every open connection; `up()` listens again on the
    same port."""

    def __init__(self, upstream_port: int):
        self.upstream = ("127.0.0.1", upstream_port)
        self.connections: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.up(self.listener)

    def up(self, listener: socket.socket | None = None) -> None:
        if listener is None:
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(64)
        self.listener = listener
        threading.Thread(target=self.accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        self.listener.close()
        with self.lock:
            cut, self.connections = list(self.connections), set()
        for connection in cut:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

    def accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed by down()
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self.lock:
                self.connections.update((client, server))
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self.pump, args=(source, target), daemon=True).start()

    def pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
        with self.lock:
            self.connections.discard(source)
            self.connections.discard(target)


class S3:
    """The moto server, its relay, one bucket, and the environment that points the app at it."""

    def __init__(self, scratch: Path):
        import boto3

        self.server = MotoServer(scratch / "moto.log")
        self.relay = S3Relay(self.server.port)
        self.bucket = f"vendorselect-faults-{secrets.token_hex(4)}"
        credentials = {"AWS_ACCESS_KEY_ID": "vendorselect-faults", "AWS_SECRET_ACCESS_KEY": "faults-secret"}
        self.client = boto3.client(
            "s3",
            endpoint_url=self.server.endpoint,  # this script reads the bucket directly, past the relay
            region_name="us-east-1",
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        )
        self.client.create_bucket(Bucket=self.bucket)
        self.env = {
            "AWS_STORAGE_BUCKET_NAME": self.bucket,
            "AWS_S3_ENDPOINT_URL": self.relay.endpoint,
            "AWS_S3_REGION_NAME": "us-east-1",
            **credentials,
        }

    def keys(self, prefix: str) -> set[str]:
        found, token = set(), None
        while True:
            extra = {"ContinuationToken": token} if token else {}
            page = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, **extra)
            found |= {item["Key"] for item in page.get("Contents", [])}
            if not page.get("IsTruncated"):
                return found
            token = page["NextContinuationToken"]

    def empty(self, prefix: str) -> None:
        keys = sorted(self.keys(prefix))
        for start in range(0, len(keys), 1000):
            objects = [{"Key": key} for key in keys[start : start + 1000]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects})

    def stop(self) -> None:
        self.relay.down()
        self.server.stop()


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


class Batch:
    """One kind of background job, as the scenarios see it: queued again from scratch, counted while
    the fault runs, and checked at the end."""

    name = ""
    trail_event = ""  # the pghistory event model of the job rows ("" when they have no trail)

    def __init__(self, size: int, media: Path):
        self.size, self.media, self.ids = size, media, []
        self.s3: S3 | None = None  # the s3 scenario: files are objects in its bucket

    def prepare(self) -> None:
        """Once, before the first scenario."""

    def reset(self, scenario: str) -> None:
        raise NotImplementedError

    def rows(self):
        raise NotImplementedError

    def advance(self) -> None:
        """What a user does between the steps of a job (an import's confirmation)."""

    def done_count(self) -> int:
        return self.rows().filter(status="done").count()

    def settled_count(self) -> int:
        return self.rows().filter(status__in=["done", "failed"]).count()

    def twice(self, since) -> int:
        """Jobs that changed to "done" more than once since the reset, by their audit trail."""
        from django.apps import apps
        from django.db.models import Count

        if not self.trail_event:
            return 0
        return (
            apps.get_model(self.trail_event)
            .objects.filter(pgh_obj_id__in=self.ids, pgh_created_at__gte=since, status="done")
            .values("pgh_obj_id")
            .annotate(n=Count("pgh_id"))
            .filter(n__gt=1)
            .count()
        )

    def files(self, folder: str) -> int:
        if self.s3:
            return len(self.s3.keys(f"{folder}/"))
        return sum(1 for path in (self.media / folder).rglob("*") if path.is_file())

    def clear(self, folder: str) -> None:
        if self.s3:
            self.s3.empty(f"{folder}/")
        shutil.rmtree(self.media / folder, ignore_errors=True)

    def missing(self, names: set[str], folder: str) -> int:
        """Files the rows name that are not stored (s3 only: the file system is checked by the count)."""
        return len(names - self.s3.keys(f"{folder}/")) if self.s3 else 0

    def outcome(self, since) -> dict:
        statuses = Counter(self.rows().values_list("status", flat=True))
        done, failed = statuses.get("done", 0), statuses.get("failed", 0)
        return {
            "generated": done,
            "lost": len(self.ids) - done - failed,
            "failed": failed,
            "twice": self.twice(since),
            "reclaimed": self.rows().filter(attempts__gt=1).count(),
            "stray_files": 0,
        }


class Packets(Batch):
    """An RFP's packets (benchmarks.packets.build): three files each."""

    name, trail_event = "packets", "rfp.PacketEvent"

    def prepare(self) -> None:
        from benchmarks.packets import build

        rfp, self.ids = build(self.size)
        self.rfp_id = rfp.pk

    def rows(self):
        from rfp.models import Packet

        return Packet.objects.filter(pk__in=self.ids)

    def reset(self, scenario: str) -> None:
        """Queue the batch again as if just generated: no files, no claims, fresh outbox messages."""
        from django.utils import timezone

        from core.models import OutboxMessage
        from rfp import services

        self.clear("packets")
        self.rows().update(
            status="queued", claim="", error="", attempts=0, pdf="", questionnaire="", bundle="", sha256="",
            started_at=None, finished_at=None, queued_at=timezone.now(),
        )  # fmt: skip
        stamp = time.time_ns()
        OutboxMessage.objects.bulk_create(
            [OutboxMessage(task=services.RENDER_TASK, key=f"faults:{stamp}:{pk}", args=[pk]) for pk in self.ids]
        )

    def outcome(self, since) -> dict:
        """Counted from the packets, their audit trail (every change of a packet is an event row) and
        the files: a packet generated twice would show two changes to "done" since the reset."""
        from django.db.models import Count

        from rfp.models import Packet

        result = super().outcome(since)
        rows = Packet.objects.filter(rfp_id=self.rfp_id).values("candidate").annotate(n=Count("pk"))
        result["twice"] += rows.filter(n__gt=1).count()
        # saved by a render that was cut off before it finished
        result["stray_files"] = self.files("packets") - 3 * result["generated"]
        named = Packet.objects.filter(pk__in=self.ids, status="done").values_list("pdf", "questionnaire", "bundle")
        result["missing_files"] = self.missing({name for row in named for name in row}, "packets")
        return result


class Reports(Batch):
    """Report PDFs of one drafted audit (with findings), requested through audits.services."""

    name, trail_event = "reports", "audits.AuditReportEvent"

    def prepare(self) -> None:
        from datetime import timedelta

        from django.contrib.auth.models import Group
        from django.utils import timezone

        from accounts.models import User
        from audits import services
        from vendors.models import Kind, Site, Vendor
        from vendorselect.builders import audit_with_findings

        auditor = User.objects.create(username="bench-auditor", first_name="Lena", last_name="Okafor")
        auditor.groups.add(Group.objects.get(name="Auditor"))
        vendor = Vendor.objects.create(name="Bench Audited Vendor", legal_name="Audited Inc.", country="DE")
        vendor.kinds.set(Kind.objects.filter(code="CMO"))
        site = Site.objects.create(vendor=vendor, name="Fill line", country="DE", quality_regime="cGMP")
        findings = [
            {
                "severity": severity,
                "area": "data_integrity",
                "description": f"Finding {i}: audit trail gaps.",
                "capa_due_date": timezone.localdate() + timedelta(days=30),
            }
            for i, severity in enumerate(["major", "minor", "minor"], start=1)
        ]
        audit = audit_with_findings(site=site, auditor=auditor, findings=findings)
        self.ids = [services.report_request(audit=audit, user=auditor).pk for _ in range(self.size)]

    def rows(self):
        from audits.models import AuditReport

        return AuditReport.objects.filter(pk__in=self.ids)

    def reset(self, scenario: str) -> None:
        from django.utils import timezone

        from audits.report import REPORTS
        from core.models import OutboxMessage

        self.clear("audit-reports")
        self.rows().update(
            status="queued", claim="", error="", attempts=0, file="", sha256="", pages=0,
            started_at=None, finished_at=None, queued_at=timezone.now(),
        )  # fmt: skip
        stamp = time.time_ns()
        OutboxMessage.objects.bulk_create(
            [OutboxMessage(task=REPORTS.task, key=f"faults:{stamp}:{pk}", args=[pk]) for pk in self.ids]
        )

    def outcome(self, since) -> dict:
        result = super().outcome(since)
        result["stray_files"] = self.files("audit-reports") - result["generated"]
        named = set(self.rows().filter(status="done").values_list("file", flat=True))
        result["missing_files"] = self.missing(named, "audit-reports")
        return result


class Imports(Batch):
    """Register imports: per scenario, new CSV files of 3 new vendors each, uploaded through
    vendors.services (job + check message); every checked job is confirmed (apply message)."""

    name = "imports"  # ImportJob has no trail: "twice" is read from the vendors it writes
    ROWS = 3

    def prepare(self) -> None:
        from accounts.models import User

        self.user = User.objects.get(username="bench-lead")

    def rows(self):
        from vendors.models import ImportJob

        return ImportJob.objects.filter(pk__in=self.ids)

    def names(self, job: int) -> list[str]:
        return [f"Fault Import {self.prefix} {job:04d}-{row}" for row in range(self.ROWS)]

    def reset(self, scenario: str) -> None:
        from django.core.files.uploadedfile import SimpleUploadedFile

        from vendors import services

        self.prefix = f"{scenario}-{time.time_ns()}"
        self.ids = []
        for job in range(self.size):
            lines = ["name,kinds,country"] + [f"{name},CRO,DE" for name in self.names(job)]
            upload = SimpleUploadedFile(f"vendors-{job:04d}.csv", "\n".join(lines).encode())
            self.ids.append(services.import_job_create(user=self.user, target="vendors", upload=upload).pk)

    def advance(self) -> None:
        from vendors import services

        for job in self.rows().filter(status="ready"):
            services.import_job_confirm(job=job)

    def settled_count(self) -> int:
        return self.rows().filter(status__in=["done", "failed", "invalid"]).count()

    def outcome(self, since) -> dict:
        from django.db.models import Count
        from django.db.models.functions import Lower

        from vendors.models import Vendor

        result = super().outcome(since)
        result["failed"] += self.rows().filter(status="invalid").count()
        result["lost"] = len(self.ids) - result["generated"] - result["failed"]
        written = Vendor.objects.filter(name__startswith=f"Fault Import {self.prefix} ")
        doubled = written.values(low=Lower("name")).annotate(n=Count("pk")).filter(n__gt=1).count()
        missing = self.ROWS * result["generated"] - written.values(low=Lower("name")).distinct().count()
        result["twice"] = doubled
        result["missing_rows"] = missing  # a job "done" whose vendors are not all there (half applied)
        return result


KINDS = {"packets": Packets, "reports": Reports, "imports": Imports}


class Writers:
    """Two API clients creating vendors through gunicorn, recording every answer."""

    def __init__(self, token: str, tag: str):
        self.token, self.stop = token, threading.Event()
        self.prefix = f"Fault Writer {tag} "  # names unique to this scenario: the API refuses a duplicate name
        self.answers: list[tuple[float, int | str, str]] = []  # (time, status or error, vendor name)
        self.threads = [threading.Thread(target=self.run, args=(n,), daemon=True) for n in range(2)]
        for thread in self.threads:
            thread.start()

    def run(self, n: int) -> None:
        i = 0
        while not self.stop.is_set():
            i += 1
            name = f"{self.prefix}{n}-{i:05d}"
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


class Prober:
    """A person at the pages while storage goes away: the RFP page, a generated packet's PDF (read from
    storage), and an attachment uploaded through the API to a second RFP (written to storage), in turn,
    through gunicorn; every answer recorded. `where` is {"rfp", "packet", "upload_rfp", "session", "token"}."""

    PDF = b"%PDF-1.4\n% an attachment uploaded while storage may be away\n%%EOF\n"

    def __init__(self, where: dict):
        self.where, self.stop = where, threading.Event()
        self.answers: list[tuple[float, str, int | str]] = []  # (time, what, status or error)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def request(self, what: str) -> urllib.request.Request:
        headers = {"X-Forwarded-Proto": "https", "Cookie": f"sessionid={self.where['session']}"}
        if what == "page":
            return urllib.request.Request(f"http://127.0.0.1:{PORT}/rfps/{self.where['rfp']}/", headers=headers)
        if what == "download":
            url = f"http://127.0.0.1:{PORT}/rfps/packets/{self.where['packet']}/pdf/"
            return urllib.request.Request(url, headers=headers)
        boundary = secrets.token_hex(12)
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="note.pdf"\r\n'
                "Content-Type: application/pdf\r\n\r\n"
            ).encode()
            + self.PDF
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return urllib.request.Request(
            f"http://127.0.0.1:{PORT}/api/v1/rfps/{self.where['upload_rfp']}/attachments/",
            data=body,
            method="POST",
            headers={
                "X-Forwarded-Proto": "https",
                "Authorization": f"Token {self.where['token']}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )

    def run(self) -> None:
        turn = 0
        while not self.stop.is_set():
            what = ("page", "download", "upload")[turn % 3]
            turn += 1
            try:
                with urllib.request.urlopen(self.request(what), timeout=60) as response:
                    response.read()
                    status: int | str = response.status
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError as error:
                status = type(error).__name__
            self.answers.append((time.monotonic(), what, status))
            time.sleep(0.2)

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(timeout=90)

    def outcome(self, fault: float, outage: float) -> dict:
        def counts(within) -> dict:
            found: dict = {}
            for t, what, status in self.answers:
                if within(t - fault):
                    found.setdefault(what, Counter())[str(status)] += 1
            return {what: dict(sorted(c.items())) for what, c in sorted(found.items())}

        return {
            "probes": len(self.answers),
            "probe_500": sum(1 for _, _, status in self.answers if status == 500),
            "probes_outage": counts(lambda t: 0 <= t < outage),
            "probes_otherwise": counts(lambda t: not 0 <= t < outage),
        }


def static_files(scratch: Path) -> None:
    """The pages with DEBUG off need collected static files (the manifest): the load benchmark's, when
    it has collected them (var/load/static), else collected here (minutes: hashing and compressing)."""
    collected = ROOT / "var" / "load" / "static"
    if (collected / "staticfiles.json").exists():
        (scratch / "static").symlink_to(collected)
        return
    command = [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"]
    env = {**os.environ, **PRODUCTION, "VENDORSELECT_VAR_DIR": str(scratch)}  # DEBUG off: the manifest
    subprocess.run(command, cwd=ROOT, env=env, check=True)


def signed_in_session(username: str) -> str:
    """A session of `username`, as the sign-in page would make it (the gunicorn shares SECRET_KEY)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from accounts.models import User

    user = User.objects.get(username=username)
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"  # the one that signs people in
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def scenario(name: str, batch: Batch, scratch: Path, env: dict, timeout: float, token: str, servers) -> dict:
    from django.db import connection

    from core import outbox

    def now():
        with connection.cursor() as cursor:
            cursor.execute("SELECT now()")
            return cursor.fetchone()[0]

    batch.s3 = servers["s3"] if name == "s3" else None
    if batch.s3:
        env = {**env, **batch.s3.env}
    db_retry(batch.reset, name)
    since = db_retry(now)
    services_up = [worker(scratch, env), beat(scratch, env)]
    writers = prober = None
    if name == "postgres":
        services_up.append(gunicorn(scratch, {**env, **PRODUCTION}))
        writers = Writers(token, batch.name)
    if name == "s3" and isinstance(batch, Packets):
        services_up.append(gunicorn(scratch, {**env, **PRODUCTION}))
    result: dict = {"kind": batch.name, "scenario": name}

    def done() -> int:
        batch.advance()
        return batch.done_count()

    try:
        started = time.monotonic()
        db_retry(outbox.relay)
        while db_retry(done) < 0.3 * len(batch.ids):
            if time.monotonic() - started > timeout:
                raise SystemExit(f"{batch.name} {name}: the batch did not reach 30 % within {timeout:.0f} s")
            time.sleep(0.1)
        if name == "s3" and isinstance(batch, Packets):
            first_done = batch.rows().filter(status="done").order_by("pk").first()
            prober = Prober({**PROBE, "rfp": batch.rfp_id, "packet": first_done.pk, "token": token})
            time.sleep(3)  # answers before the fault
        done_before = db_retry(batch.done_count)
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
        elif name == "s3":
            servers["s3"].relay.down()
            time.sleep(S3_OUTAGE[0])
            servers["s3"].relay.up()
        result["fault_took_s"] = time.monotonic() - fault
        resumed = None
        while True:
            finished = db_retry(done)
            if resumed is None and finished > done_before + 2:  # beyond what was finishing at the fault
                resumed = time.monotonic() - fault
            if db_retry(batch.settled_count) == len(batch.ids):
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
        if prober:
            time.sleep(3)  # answers after the batch is complete
            prober.finish()
            result.update(prober.outcome(fault, result["fault_took_s"]))
            if result["probe_500"]:
                errors = [line for line in services_up[-1].log().splitlines() if "Error" in line]
                print("gunicorn's errors (last 20):\n" + "\n".join(errors[-20:]), flush=True)
    finally:
        if writers:
            writers.finish()
        if prober:
            prober.finish()
        for service in services_up:
            service.kill(signal.SIGTERM)
    result.update(db_retry(batch.outcome, since))
    batch.s3 = None
    return result


def writer_outcome(writers: Writers, fault: float) -> dict:
    from vendors.models import Vendor

    acknowledged = [name for _, status, name in writers.answers if status == 201]
    stored = set(Vendor.objects.filter(name__startswith=writers.prefix).values_list("name", flat=True))
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
PROBE: dict = {}  # the s3 scenario's prober: a second RFP for its uploads, the lead's session
S3_OUTAGE = [20.0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--packets", type=int, default=200, help="RFP packets in the batch")
    parser.add_argument("--reports", type=int, default=100, help="audit report PDFs in the batch")
    parser.add_argument("--imports", type=int, default=50, help="import files (3 vendors each) in the batch")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated kinds of job")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    parser.add_argument("--s3-outage", type=float, default=20, help="seconds the s3 scenario's endpoint is away")
    parser.add_argument("--timeout", type=float, default=600, help="seconds a scenario may take")
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    if unknown := set(kinds) - set(KINDS):
        parser.error(f"unknown kinds: {', '.join(sorted(unknown))}; choose from {', '.join(KINDS)}")
    if unknown := set(args.only.split(",")) - set(SCENARIOS):
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}; choose from {', '.join(SCENARIOS)}")
    S3_OUTAGE[0] = args.s3_outage

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
        if "s3" in args.only.split(","):
            servers["s3"] = S3(scratch)
            static_files(scratch)
        os.environ["SECRET_KEY"] = PRODUCTION["SECRET_KEY"]  # this script's sessions are gunicorn's
        import django

        django.setup()
        import logging

        for noisy in ("weasyprint", "fontTools", "pgtrigger"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        from django.contrib.auth.models import Group
        from django.core.management import call_command
        from rest_framework.authtoken.models import Token

        from accounts.models import User

        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        media = scratch / "media"
        sizes = {"packets": args.packets, "reports": args.reports, "imports": args.imports}
        batches = [KINDS[kind](sizes[kind], media) for kind in KINDS if kind in kinds]
        if "packets" not in kinds:  # the packets' RFP makes the lead who uploads imports and calls the API
            lead = User.objects.create(username="bench-lead", first_name="Priya", last_name="Raman")
            lead.groups.add(Group.objects.get(name="Procurement lead"))
        for batch in batches:
            batch.prepare()
        servers["redis"].stop()  # the generation's messages: each scenario publishes its own
        servers["redis"].start()
        token = Token.objects.create(user=User.objects.get(username="bench-lead")).key
        if "s3" in servers and "packets" in kinds:
            from rfp.models import Rfp
            from vendorselect.builders import rfp_for

            lead = User.objects.get(username="bench-lead")
            packets_batch = next(batch for batch in batches if isinstance(batch, Packets))
            shortlist = Rfp.objects.get(pk=packets_batch.rfp_id).shortlist
            PROBE.update(upload_rfp=rfp_for(shortlist, lead).pk, session=signed_in_session("bench-lead"))
        print(
            f"private PostgreSQL :{PG_PORT} and Redis :{REDIS_PORT}; "
            + ", ".join(f"{batch.size} {batch.name}" for batch in batches)
            + f" prepared in {time.perf_counter() - started:.0f} s; worker --concurrency 2, beat every "
            f"{FAST['OUTBOX_RELAY_SECONDS']} s, soft time limit {FAST['CELERY_TASK_SOFT_TIME_LIMIT']} s, "
            f"OUTBOX_REQUEUE_AFTER {FAST['OUTBOX_REQUEUE_AFTER']} s",
            flush=True,
        )
        for batch in batches:
            for name in args.only.split(","):
                result = scenario(name, batch, scratch, env, args.timeout, token, servers)
                results.append(result)
                report(result, batch.size)
        from django.db import connections

        connections.close_all()
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    bad = [
        f"{r['kind']} {r['scenario']}"
        for r in results
        if r["lost"]
        or r["twice"]
        or r["failed"]
        or r.get("missing_rows")
        or r.get("acknowledged_lost")
        or r.get("missing_files")
        or r.get("probe_500")
    ]
    if bad:
        raise SystemExit(f"jobs lost, failed or duplicated, files missing or 500s in: {', '.join(bad)}")


def report(r: dict, total: int) -> None:
    resumed = f"{r['resumed_s']:.1f} s" if r["resumed_s"] is not None else "never"
    missing = f", vendors missing {r['missing_rows']}" if "missing_rows" in r else ""
    print(
        f"  {r['kind']:8s} {r['scenario']:9s} fault at {r['done_at_fault']}/{total} done "
        f"(took {r['fault_took_s']:.1f} s): finished {r['generated']}, lost {r['lost']}, failed {r['failed']}, "
        f"done twice {r['twice']}{missing}, re-claimed {r['reclaimed']}, stray files {r['stray_files']}; "
        f"finishing again {resumed} after the fault, batch complete {r['complete_s']:.1f} s after it",
        flush=True,
    )
    if r.get("missing_files"):
        print(f"                     files named by finished jobs but missing from the bucket: {r['missing_files']}")
    if "probes" in r:
        print(
            f"                     pages and API while storage was away ({r['fault_took_s']:.0f} s): "
            f"{r['probes_outage']}; otherwise: {r['probes_otherwise']}; answered 500: {r['probe_500']}",
            flush=True,
        )
    if "writes" in r:
        resumed = f"{r['writes_resumed_s']:.1f} s" if r["writes_resumed_s"] is not None else "-"
        print(
            f"                     API writes: {r['writes']} sent, {r['acknowledged']} acknowledged (201), "
            f"{r['acknowledged_lost']} acknowledged but lost, {r['server_errors_500']} answered 500; "
            f"other answers after the fault: {r['outage_answers'] or 'none'}; writes succeeded again {resumed} "
            "after the fault",
            flush=True,
        )


if __name__ == "__main__":
    main()
