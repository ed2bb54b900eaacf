"""Several hosts on one machine: two web instances, two workers and one beat sharing only PostgreSQL,
Redis and an S3 bucket; locust's mixed journeys across both web instances, with RFP packet rounds.

    .venv/bin/python benchmarks/multihost.py [--users 12] [--duration 90] [--vendors 2000] [--rfps 2]

One command does it all:
  1. starts an S3 server (moto's server mode, requirements-dev.txt) on a loopback port with a new bucket;
     every process below gets AWS_STORAGE_BUCKET_NAME and the endpoint, so files go to the bucket;
  2. creates a throwaway database (as benchmarks/load.py: seed_demo, --vendors vendors) and adds --rfps
     approved shortlists with an RFP of the demo lead each (3 vendors: 3 packets a generation);
  3. starts, each as its own "host" with its own empty MEDIA_ROOT (no local file is shared): gunicorn A
     and gunicorn B (production settings, --web-workers each, PROMETHEUS_MULTIPROC_DIR), celery worker 1
     and 2 (concurrency 1 each) and one celery beat;
  4. runs benchmarks/locust_multihost.py headless for --duration seconds: the journeys of locustfile.py,
     users dealt round robin over A and B, plus one packet round per RFP (change, generate on one host,
     poll, download every packet from the other host and check its SHA-256);
  5. then checks every generated packet from both web hosts (ZIP bytes against the packet's SHA-256, PDF,
     questionnaire), that the bucket holds them, and that no MEDIA_ROOT received a file; scrapes /metrics
     of both hosts (outbox, jobs, beat's tick); stops everything and drops the database.
Prints per request name: requests, failures, p50/p95/p99; exits non-zero when any request or check failed.

Redis: database MULTIHOST_REDIS_URL (default redis://127.0.0.1:6379/10) for the broker and the cache,
emptied before and after.
"""

import argparse
import hashlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import load  # noqa: E402 - sets the production environment of every process

REDIS_URL = os.environ.get("MULTIHOST_REDIS_URL", "redis://127.0.0.1:6379/10")
os.environ.update(CELERY_BROKER_URL=REDIS_URL, CACHE_URL=REDIS_URL, METRICS_TOKEN=secrets.token_urlsafe(24))
LOCUSTFILE = ROOT / "benchmarks" / "locust_multihost.py"
BUCKET = f"vendorselect-multihost-{os.getpid()}"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "multihost", "AWS_SECRET_ACCESS_KEY": secrets.token_urlsafe(16)}


def start(command: list[str], log: Path, env: dict) -> subprocess.Popen:
    with log.open("w") as output:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )


def s3_server(scratch: Path) -> tuple[subprocess.Popen, str]:
    port = load.free_port()
    server = start(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        scratch / "s3.log",
        dict(os.environ),
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(endpoint, timeout=1).close()
            break
        except urllib.error.HTTPError:
            break  # it answers
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the S3 server did not start:\n{load.tail(scratch / 's3.log')}") from None
            time.sleep(0.2)
    return server, endpoint


def bucket_client(endpoint: str):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def add_rfps(count: int) -> list[int]:
    """`count` approved shortlists of 3 vendors, each with an RFP of the demo lead (through the services)."""
    from accounts.models import User
    from scoring import selectors
    from vendors.models import Vendor
    from vendorselect import builders
    from vendorselect.management.commands.seed_demo import demo_password

    lead = User.objects.get(username="lead")
    manager = User.objects.get(username="manager")
    evaluators = list(User.objects.filter(username__in=["evaluator", "evaluator2"]))
    vendors = list(Vendor.objects.filter(sites__isnull=False, status="approved").distinct().order_by("pk")[: 6 * count])
    ids = []
    for number in range(count):
        evaluation, _ = builders.reviewed_evaluation(
            lead=lead,
            evaluators=evaluators,
            vendors=vendors[6 * number : 6 * number + 6],
            name=f"Multi-host RFP {number + 1}",
            scores=lambda evaluator, candidate, criterion: 5 - candidate % 5,
        )
        # Three that the ranking does not bar (an OAI inspection, a disqualification in the register).
        allowed = [row.candidate for row in selectors.ranking(evaluation, lead).rows if not row.disqualified][:3]
        shortlist = builders.approved_shortlist(
            evaluation=evaluation,
            proposer=lead,
            approvers=[manager],
            candidates=allowed,
            password=demo_password("manager"),
        )
        ids.append(builders.rfp_for(shortlist, lead, title=f"Multi-host RFP {number + 1}").pk)
    return ids


class Session:
    """A browser session of the demo lead against one web host (as the locust users sign in)."""

    def __init__(self, host: str):
        self.host = host
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.headers = {"X-Forwarded-Proto": "https"}

    def get(self, path: str) -> tuple[int, bytes]:
        request = urllib.request.Request(self.host + path, headers=self.headers)
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def sign_in(self, password: str) -> None:
        import re
        import urllib.parse

        _, page = self.get("/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        for cookie in self.jar:  # Secure cookies over loopback http, as behind the TLS proxy
            cookie.secure = False
        origin = "https://" + self.host.split("://", 1)[1]
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": "lead", "password": password})
        request = urllib.request.Request(
            self.host + "/login/",
            data=body.encode(),
            headers={**self.headers, "Origin": origin, "Referer": origin + "/login/"},
        )

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)
        try:
            opener.open(request, timeout=60)
        except urllib.error.HTTPError as error:
            if error.code != 302:
                raise SystemExit(f"sign-in on {self.host} refused: {error.code}") from None
        for cookie in self.jar:
            cookie.secure = False


def verify(hosts: list[str], client, media_roots: list[Path]) -> list[str]:
    """Every generated packet from every web host; the bucket holds its files; no local media file."""
    from rfp.models import Packet
    from vendorselect.management.commands.seed_demo import demo_password

    problems = []
    sessions = [Session(host) for host in hosts]
    for session in sessions:
        session.sign_in(demo_password("lead"))
    keys = set()
    token = None
    while True:
        listing = client.list_objects_v2(Bucket=BUCKET, **({"ContinuationToken": token} if token else {}))
        keys |= {item["Key"] for item in listing.get("Contents", [])}
        if not listing.get("IsTruncated"):
            break
        token = listing["NextContinuationToken"]
    packets = list(Packet.objects.filter(status=Packet.Status.DONE).order_by("pk"))
    for packet in packets:
        for name in (packet.pdf.name, packet.questionnaire.name, packet.bundle.name):
            if name not in keys:
                problems.append(f"packet {packet.pk}: {name} is not in the bucket")
        for session in sessions:
            status, body = session.get(f"/rfps/packets/{packet.pk}/zip/")
            if status != 200 or hashlib.sha256(body).hexdigest() != packet.sha256:
                problems.append(f"packet {packet.pk} ZIP from {session.host}: {status}")
            status, body = session.get(f"/rfps/packets/{packet.pk}/pdf/")
            if status != 200 or not body.startswith(b"%PDF-"):
                problems.append(f"packet {packet.pk} PDF from {session.host}: {status}")
            status, body = session.get(f"/rfps/packets/{packet.pk}/xlsx/")
            if status != 200 or not body.startswith(b"PK"):
                problems.append(f"packet {packet.pk} questionnaire from {session.host}: {status}")
    local = [str(path) for root in media_roots for path in root.rglob("*") if path.is_file()]
    if local:
        problems.append(f"files written to a local MEDIA_ROOT: {local[:5]}")
    print(
        f"\nchecked {len(packets)} generated packets from {len(hosts)} web hosts each (ZIP SHA-256, PDF, XLSX); "
        f"bucket: {len(keys)} objects; local MEDIA_ROOT files: {len(local)}"
    )
    return problems


def scrape(host: str) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families

    request = urllib.request.Request(
        host + "/metrics", headers={"Authorization": f"Bearer {os.environ['METRICS_TOKEN']}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def stop_all(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=12, help="journey users over both hosts (default 12)")
    parser.add_argument("--duration", type=int, default=90, help="seconds of load (default 90)")
    parser.add_argument("--vendors", type=int, default=2000, help="vendors added to the demo register (default 2000)")
    parser.add_argument("--rfps", type=int, default=2, help="RFPs with a packet round each (default 2)")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers per web host (default 2)")
    args = parser.parse_args()

    import redis

    broker = redis.Redis.from_url(REDIS_URL)
    broker.ping()
    broker.flushdb()
    scratch = Path(tempfile.mkdtemp(prefix="vendorselect-multihost-"))
    processes: list[subprocess.Popen] = []
    database = load.create_database(load.BASE_URL, "multihost")
    exit_code, started = 1, time.perf_counter()
    try:
        s3, endpoint = s3_server(scratch)
        processes.append(s3)
        client = bucket_client(endpoint)
        client.create_bucket(Bucket=BUCKET)
        storage = {
            "AWS_STORAGE_BUCKET_NAME": BUCKET,
            "AWS_S3_ENDPOINT_URL": endpoint,
            "AWS_S3_REGION_NAME": "us-east-1",
        }
        os.environ.update(**storage, **CREDENTIALS, DATABASE_URL=database, VENDORSELECT_VAR_DIR=str(load.STATIC_VAR))
        os.environ["MEDIA_ROOT"] = str(scratch / "setup" / "media")
        setup_env = {
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "LOG_LEVEL": "WARNING",
        }
        os.environ.update(setup_env)
        summary = load.prepare(args.vendors)
        from core import trail

        with trail.context(command="multi-host benchmark"):
            rfps = add_rfps(args.rfps)
        for name in setup_env:
            os.environ.pop(name)
        print(
            f"database {load.server_and_name(database)[1]}: {summary}; {len(rfps)} RFPs; bucket {BUCKET} at {endpoint}"
        )

        base_env = {k: v for k, v in os.environ.items() if k != "LOAD_DEMO_PASSWORDS"}
        media_roots = []

        def host_env(name: str, **extra) -> dict:
            media = scratch / name / "media"
            media.mkdir(parents=True)
            media_roots.append(media)
            return {**base_env, "MEDIA_ROOT": str(media), **extra}

        hosts = []
        for name in ("web-a", "web-b"):
            port = load.free_port()
            multiproc = scratch / name / "prometheus"
            command = [sys.executable, "-m", "gunicorn", "vendorselect.wsgi:application", "--bind", f"127.0.0.1:{port}"]
            command += ["--workers", str(args.web_workers), "--timeout", "150", "--no-control-socket"]
            processes.append(
                start(command, scratch / f"{name}.log", host_env(name, PROMETHEUS_MULTIPROC_DIR=str(multiproc)))
            )
            hosts.append(f"http://127.0.0.1:{port}")
        celery = [sys.executable, "-m", "celery", "-A", "vendorselect"]
        for name in ("worker-1", "worker-2"):
            command = [*celery, "worker", "-n", f"{name}@multihost", "--concurrency", "1", "--loglevel", "INFO"]
            processes.append(start(command, scratch / f"{name}.log", host_env(name)))
        beat = [*celery, "beat", "--loglevel", "INFO", "--schedule", str(scratch / "beat-schedule")]
        processes.append(start(beat, scratch / "beat.log", host_env("beat", OUTBOX_RELAY_SECONDS="10")))
        for host, process, name in zip(hosts, processes[1:3], ("web-a", "web-b"), strict=True):
            load.wait_healthy(f"{host}/healthz/ready", process, scratch / f"{name}.log")
        print(
            f"web A {hosts[0]}, web B {hosts[1]} ({args.web_workers} gunicorn workers each), 2 celery workers, "
            f"1 beat; locust: {args.users} journey users + {len(rfps)} packet rounds, {args.duration} s; "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
        )

        spawn_rate = max(1.0, (args.users + len(rfps)) / 10)
        command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", hosts[0]]
        command += ["-u", str(args.users + len(rfps)), "-r", f"{spawn_rate:g}", "-t", f"{args.duration}s"]
        command += [
            "--stop-timeout",
            "120",
            "--csv",
            str(scratch / "locust"),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ]
        locust_env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "LOAD_RAW_CSV": str(scratch / "raw.csv"),
            "MULTIHOST_HOSTS": ",".join(hosts),
            "MULTIHOST_RFPS": ",".join(map(str, rfps)),
        }
        with (scratch / "locust.log").open("w") as output:
            result = subprocess.run(
                command, cwd=ROOT, env=locust_env, stdout=output, stderr=subprocess.STDOUT, timeout=args.duration + 300
            )
        raw = load.read_raw(scratch / "raw.csv") if (scratch / "raw.csv").exists() else []
        if not raw:
            raise SystemExit(f"locust made no requests:\n{load.tail(scratch / 'locust.log')}")
        table, total = load.stats_table(raw, min(t for t, *_ in raw) + args.users / spawn_rate + 5)
        print()
        print(table)

        time.sleep(2)  # the last rounds' packets are done (a round waits for them); let the workers settle
        problems = verify(hosts, client, media_roots)
        for host, label in zip(hosts, "AB", strict=True):
            metrics = scrape(host)
            served = sum(v for k, v in metrics.items() if k.startswith("vendorselect_http_requests_total{"))
            jobs = {
                k.split("status=")[1].rstrip("}"): int(v)
                for k, v in metrics.items()
                if k.startswith("vendorselect_jobs{job=rfp.packet")
            }
            print(
                f"/metrics of web {label}: {served:,.0f} requests served by its workers; packets by status {jobs}; "
                f"outbox pending {metrics['vendorselect_outbox_pending']:.0f}; "
                f"beat tick {metrics.get('vendorselect_beat_tick_age_seconds', float('nan')):.0f} s ago"
            )
        for name in ("worker-1", "worker-2"):
            lines = (scratch / f"{name}.log").read_text(errors="replace").splitlines()
            rendered = sum(1 for line in lines if "rfp.tasks.render_packet[" in line and " succeeded in " in line)
            print(f"{name}: {rendered} packet tasks finished")
        failed_rows = (scratch / "locust_failures.csv").read_text().strip().splitlines()[1:]
        if failed_rows:
            print("\nfailures (method, name, error, occurrences):")
            for line in failed_rows:
                print(f"  {line}")
        for problem in problems:
            print(f"  check failed: {problem}")
        ok = total["requests"] and not total["failures"] and not problems and result.returncode == 0
        if result.returncode not in (0, 1):
            print(f"\nlocust log (exit {result.returncode}):\n{load.tail(scratch / 'locust.log')}")
        exit_code = 0 if ok else 1
        verdict = "OK" if ok else "FAILED"
        print(
            f"\n{verdict}: {total['requests']:,} requests, {total['failures']:,} failures, {len(problems)} failed checks "
            f"in {time.perf_counter() - started:.0f} s"
        )
        if not ok:
            for name in ("web-a", "worker-1", "beat"):
                print(f"\n{name} log (tail):\n{load.tail(scratch / f'{name}.log', 15)}")
    finally:
        stop_all(processes)
        from django.db import connections

        connections.close_all()
        load.drop_database(database)
        broker.flushdb()
        if os.environ.get("MULTIHOST_KEEP"):
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
