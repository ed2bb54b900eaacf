"""Mixed-journey load test: locust against gunicorn and PostgreSQL on loopback, bounded in time.

    .venv/bin/python benchmarks/load.py [--users 40] [--duration 60] [--workers 2*CPU+1]   (or: make load)

One command does it all:
  1. creates a throwaway PostgreSQL database (LOAD_DATABASE_URL's name + "_load_<pid>", by default
     vendorselect_load_load_<pid>), migrates it, runs `seed_demo` and adds volume: --vendors vendors
     (2,000) with contacts, sites, capabilities and regulatory inspections, bulk-inserted, and an evaluation
     open for scoring by both demo evaluators; for the supplier portal's vendor journey, the demo RFP's
     packets (rendered here: the run has no worker) and --portal-invitations people invited to it through
     rfp.bidding.invite, spread over its two vendors (their links' tokens go to locust in
     LOAD_PORTAL_TOKENS); collects the static files into var/load/static (kept between runs and collected
     again only when their sources change);
  2. starts gunicorn with the production command (sync workers, --timeout 150) and production settings:
     DJANGO_DEBUG off, a random SECRET_KEY, ALLOWED_HOSTS=127.0.0.1, SECURE_SSL_REDIRECT, HSTS and Secure
     cookies as the settings make them. The clients play a browser behind the TLS-terminating proxy of
     production: they send X-Forwarded-Proto: https (trusted by the settings' BEHIND_TLS_PROXY default)
     and the Origin https://127.0.0.1:<port> on every POST. E-mail goes to Django's file-based backend
     (EMAIL_FILE_PATH in the temporary directory, given to locust as LOAD_MAIL_DIR): the vendor contacts
     read their one-time codes there;
  3. waits for /healthz, runs benchmarks/locustfile.py headless for --duration seconds;
  4. stops gunicorn, drops the database, removes the temporary directory and prints, per request name and
     in total: requests, failures, requests/s, p50/p95/p99 and max (ms), exact, from every request's time
     (the locustfile writes them to $LOAD_RAW_CSV), for the whole run and after the ramp-up; then SQL
     queries per request per
     Django view (counted inside the gunicorn workers by benchmarks/load_gunicorn.py) and the database's
     transactions and rows read.
Exits non-zero when any request failed (a 5xx or any other status or body a journey did not expect).

Celery broker and cache: Redis database LOAD_REDIS_URL (default redis://127.0.0.1:6379/11), emptied before
and after. No worker runs: the notifications that the vendors' questions and uploads queue for the lead
stay in the broker; production uses Redis for both, so the settings are the same.
"""

import argparse
import csv
import io
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BASE_URL = os.environ.get("LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vendorselect_load")
REDIS_URL = os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/11")
# The settings of every process of the run: production (DEBUG off), set before Django is imported.
SERVER_ENV = {
    "DJANGO_SETTINGS_MODULE": "vendorselect.settings",
    "DJANGO_DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "127.0.0.1",
    "CELERY_BROKER_URL": REDIS_URL,
    "CACHE_URL": REDIS_URL,
    "CELERY_TASK_ALWAYS_EAGER": "0",
}
os.environ.update(SERVER_ENV)
for name in (
    "SECURE_SSL_REDIRECT",
    "BEHIND_TLS_PROXY",
    "SECURE_HSTS_SECONDS",
    "CSRF_TRUSTED_ORIGINS",
    "DB_CONN_MAX_AGE",
):
    os.environ.pop(name, None)  # production's defaults, whatever the calling shell sets

from benchmarks.packets import create_database, drop_database, server_and_name  # noqa: E402

LOCUSTFILE = ROOT / "benchmarks" / "locustfile.py"
HOOKS = ROOT / "benchmarks" / "load_gunicorn.py"
STATIC_VAR = ROOT / "var" / "load"
LOAD_EVALUATION = "Oral solid dose technology transfer (load test)"
DEMO_RFP = "RFP: oral tablets for Phase III and launch"  # seed_demo's RFP, invited to two vendors


# --- Data -------------------------------------------------------------------------------------------

PREFIXES = [
    "Aster", "Boreal", "Cobalt", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris", "Juniper",
    "Kestrel", "Linden", "Meridian", "Nimbus", "Orchid", "Pioneer", "Quartz", "Redwood", "Summit", "Tidal",
    "Umber", "Vantage", "Willow", "Xenon", "Yarrow", "Zephyr", "Alpine", "Beacon", "Cedar", "Dune",
]  # fmt: skip
SUFFIXES = [
    ("Biologics", "biologics"), ("Pharma Services", "integrated"), ("Clinical Research", "clinical"),
    ("Fine Chemicals", "api"), ("Sterile Solutions", "sterile"), ("Analytics", "chemistry"),
    ("Peptides", "peptide"), ("Oral Solids", "oral"), ("Gene Therapy", "cgt"), ("Toxicology", "preclinical"),
]  # fmt: skip
COUNTRIES = ["US", "US", "US", "DE", "IN", "CN", "GB", "FR", "JP", "CH", "IE", "IT", "KR", "CA", "SG", "NL", "BE"]
AGENCY = {"US": "FDA", "GB": "MHRA", "JP": "PMDA"}
STATUSES = ["prospect"] * 8 + ["under_qualification"] * 4 + ["approved"] * 5 + ["conditionally_approved"] * 2
STATUSES += ["disqualified"]


def add_volume(vendors: int, seed: int = 20260515) -> dict:
    """`vendors` vendors with kinds, services, modalities, dosage forms, phases, a contact, 1-3 sites with
    capabilities and 0-4 inspections each; bulk inserts (the trail's triggers record them as they would
    an import). Returns the row counts."""
    import random
    from datetime import date, timedelta
    from decimal import Decimal

    from vendors.models import Contact, DosageForm, Kind, Modality, Phase, RegulatoryInspection, Service, Site, Vendor

    rng = random.Random(seed)
    kinds = {k.code: k.pk for k in Kind.objects.all()}
    services = list(Service.objects.values_list("pk", flat=True))
    modalities = list(Modality.objects.values_list("pk", flat=True))
    forms = list(DosageForm.objects.values_list("pk", flat=True))
    phases = list(Phase.objects.values_list("pk", flat=True))
    profile_kinds = {
        "biologics": ["CDMO"], "integrated": ["CDMO", "CRO"], "clinical": ["CRO"], "api": ["CMO"],
        "sterile": ["CMO"], "chemistry": ["CRO"], "peptide": ["CDMO"], "oral": ["CMO"], "cgt": ["CDMO"],
        "preclinical": ["CRO"],
    }  # fmt: skip
    rows = []
    for i in range(vendors):
        prefix = PREFIXES[i % len(PREFIXES)]
        suffix, profile = SUFFIXES[(i // len(PREFIXES)) % len(SUFFIXES)]
        country = rng.choice(COUNTRIES)
        name = f"{prefix} {suffix} {i // (len(PREFIXES) * len(SUFFIXES)) + 1:02d}"
        rows.append(
            Vendor(
                name=name,
                legal_name=f"{name} Ltd",
                country=country,
                website=f"https://{prefix.lower()}-{i}.example",
                description=f"{name} offers {suffix.lower()} services. Fictional company for load testing.",
                status=rng.choice(STATUSES),
            )
        )
    created = Vendor.objects.bulk_create(rows, batch_size=1000)
    links = {name: [] for name in ("kinds", "services", "modalities", "dosage_forms", "phases")}
    contacts, sites = [], []
    for i, vendor in enumerate(created):
        profile = SUFFIXES[(i // len(PREFIXES)) % len(SUFFIXES)][1]
        links["kinds"] += [(vendor.pk, kinds[k]) for k in profile_kinds[profile]]
        links["services"] += [(vendor.pk, s) for s in rng.sample(services, rng.randint(3, 9))]
        links["modalities"] += [(vendor.pk, m) for m in rng.sample(modalities, rng.randint(1, 3))]
        links["dosage_forms"] += [(vendor.pk, f) for f in rng.sample(forms, rng.randint(0, 2))]
        links["phases"] += [(vendor.pk, p) for p in rng.sample(phases, rng.randint(1, 4))]
        contacts.append(Contact(vendor=vendor, name=f"Business development {i}", email=f"bd{i}@load.example"))
        regime = {"clinical": "GCP", "chemistry": "GLP", "preclinical": "GLP"}.get(profile, "cGMP")
        for number in range(rng.choice([1, 1, 2, 2, 3])):
            low = Decimal(rng.choice([5, 20, 50, 100, 250]))
            sites.append(
                Site(
                    vendor=vendor,
                    name=f"Plant {number + 1}",
                    address=f"{i} Industrial Way",
                    country=vendor.country if number == 0 else rng.choice(COUNTRIES),
                    quality_regime=regime,
                    fei_number=str(4000000000 + i * 10 + number) if regime == "cGMP" else "",
                    scale_unit="L" if regime == "cGMP" else "",
                    scale_min=low if regime == "cGMP" else None,
                    scale_max=low * rng.choice([10, 40, 100]) if regime == "cGMP" else None,
                    certifications="ISO 9001:2015",
                )
            )
    for field, pairs in links.items():
        through = getattr(Vendor, field).through
        target = getattr(Vendor, field).field.m2m_reverse_field_name()
        through.objects.bulk_create([through(vendor_id=v, **{f"{target}_id": t}) for v, t in pairs], batch_size=5000)
    Contact.objects.bulk_create(contacts, batch_size=2000)
    sites = Site.objects.bulk_create(sites, batch_size=2000)
    capabilities = [(s.pk, c) for s in sites for c in rng.sample(services, rng.randint(2, 6))]
    Site.capabilities.through.objects.bulk_create(
        [Site.capabilities.through(site_id=s, service_id=c) for s, c in capabilities], batch_size=5000
    )
    today, inspections = date.today(), []
    for site in sites:
        agency = AGENCY.get(str(site.country), "EMA")
        for n in range(rng.randint(0, 4)):
            roll = rng.random()
            classification = "NAI" if roll < 0.6 else "VAI" if roll < 0.92 else "OAI"
            inspections.append(
                RegulatoryInspection(
                    site=site,
                    agency=agency,
                    end_date=today - timedelta(days=60 + n * 400 + rng.randint(0, 300)),
                    classification=classification,
                    form_483_observations=rng.randint(1, 8) if agency == "FDA" and classification != "NAI" else 0,
                    warning_letter=classification == "OAI" and rng.random() < 0.3,
                    source="fda_dashboard" if agency == "FDA" else "manual",
                    source_id=f"LOAD-{site.pk}-{n}",
                )
            )
    RegulatoryInspection.objects.bulk_create(inspections, batch_size=2000)
    return {"vendors": len(created), "sites": len(sites), "inspections": len(inspections)}


def add_scoring_evaluation(candidates: int = 12) -> None:
    """An evaluation in scoring with both demo evaluators and none submitted: their grids stay open."""
    from accounts.models import User
    from scoring import services
    from vendors.models import Vendor

    lead = User.objects.get(username="lead")
    evaluators = list(User.objects.filter(username__in=["evaluator", "evaluator2"]))
    evaluation = services.evaluation_create(
        lead=lead,
        name=LOAD_EVALUATION,
        evaluators=evaluators,
        description="Transfer of a film-coated tablet to a second supplier.",
    )
    for vendor in Vendor.objects.filter(name__contains="Oral Solids").order_by("pk")[:candidates]:
        services.candidate_add(evaluation=evaluation, user=lead, vendor=vendor)
    services.evaluation_transition(evaluation=evaluation, user=lead, action="start_scoring")


def add_portal_invitations(people: int) -> list[dict]:
    """The demo RFP's packets, generated and rendered in this process, and `people` invitations to it
    (alternating between its two vendors), made by the lead through rfp.bidding.invite. Returns each
    invitation's link token (never stored: only its SHA-256 is) and address, for the vendor journey."""
    from accounts.models import User
    from rfp import bidding
    from rfp import services as rfp_services
    from rfp.models import Packet, Rfp

    lead = User.objects.get(username="lead")
    rfp = Rfp.objects.get(title=DEMO_RFP)
    rfp_services.rfp_generate(rfp=rfp, user=lead)  # queued on commit: eager tasks render them here ...
    for packet in Packet.objects.filter(rfp=rfp).exclude(status=Packet.Status.DONE):
        rfp_services.packet_render(packet.pk, claim=f"load-{packet.pk}")  # ... or, if not, this does
    packets = Packet.objects.filter(rfp=rfp)
    if not packets or any(p.status != Packet.Status.DONE for p in packets):
        raise SystemExit(f"the demo RFP's packets were not rendered: {[(p.pk, p.status, p.error) for p in packets]}")
    candidates = list(bidding.invitable_candidates(rfp))
    invitations = []
    for number in range(people):
        candidate = candidates[number % len(candidates)]
        invitation = bidding.invite(
            rfp=rfp,
            user=lead,
            candidate_id=candidate.pk,
            name=f"Bid manager {number + 1}",
            email=f"bids-{number + 1}@vendor-{candidate.pk}.load.example",
        )
        invitations.append({"token": invitation.token, "email": invitation.email})
    return invitations


def start_collectstatic() -> tuple[subprocess.Popen | None, Path, str]:
    """collectstatic into STATIC_ROOT (var/load/static, kept between runs: hashing and compressing the
    front-end assets takes minutes), in a child process alongside the database work, unless the files
    collected there last time came from the same sources. Returns the child (None: nothing to do), the
    stamp file and the sources' digest to write into it when the child succeeds."""
    import hashlib

    from django.conf import settings
    from django.contrib.staticfiles.finders import get_finders

    digest = hashlib.sha256()
    for finder in get_finders():
        for path, storage in finder.list([]):
            stat = os.stat(storage.path(path))
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    root = Path(settings.STATIC_ROOT)
    stamp = root.parent / "static.sha256"
    if (root / "staticfiles.json").exists() and stamp.exists() and stamp.read_text() == digest.hexdigest():
        return None, stamp, digest.hexdigest()
    stamp.unlink(missing_ok=True)
    command = [sys.executable, "manage.py", "collectstatic", "--noinput", "--clear", "--verbosity", "0"]
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return child, stamp, digest.hexdigest()


def prepare(vendors: int, portal_invitations: int) -> str:
    """Migrate, seed the demo, add volume and the portal's invitations, collect the static files;
    returns what the database holds."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    from core import trail
    from vendors.models import RegulatoryInspection, Site, Vendor
    from vendorselect.management.commands.seed_demo import DEMO_USERS, demo_password

    steps, started = [], time.perf_counter()

    def step(label: str):
        nonlocal started
        steps.append(f"{label} {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()

    collector, stamp, digest = start_collectstatic()
    call_command("migrate", verbosity=0)
    step("migrate")
    call_command("seed_demo", stdout=io.StringIO())
    step("seed_demo")
    with trail.context(command="load-test volume"):
        add_volume(vendors)
        add_scoring_evaluation()
        invitations = add_portal_invitations(portal_invitations)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as autovacuum would have done on a register that grew over time
    step("volume")
    if collector is not None:
        output = collector.communicate()[0]
        if collector.returncode:
            raise SystemExit(f"collectstatic failed:\n{output[-3000:]}")
        stamp.write_text(digest)
        step("then waiting for collectstatic")
    os.environ["LOAD_DEMO_PASSWORDS"] = json.dumps({name: demo_password(name) for name, *_ in DEMO_USERS})
    os.environ["LOAD_PORTAL_TOKENS"] = json.dumps(invitations)
    summary = (
        f"{Vendor.objects.count():,} vendors, {Site.objects.count():,} sites, "
        f"{RegulatoryInspection.objects.count():,} inspections, {len(invitations)} portal invitations "
        f"({', '.join(steps)}"
        f"{'' if collector else '; static files collected before'})"
    )
    connections.close_all()
    return summary


# --- Processes --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"gunicorn did not become healthy:\n{tail(log)}")
        time.sleep(0.2)


def stop(process: subprocess.Popen | None, timeout: float = 30) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)  # gunicorn: graceful stop, workers finish their request and exit
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- Report -----------------------------------------------------------------------------------------


def percentile(ordered: list[float], share: float) -> float:
    """Nearest rank."""
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def summarise(rows: list[tuple]) -> dict:
    times = sorted(ms for *_, ms, _failed in rows)
    return {
        "requests": len(rows),
        "failures": sum(1 for *_, failed in rows if failed),
        "p50": percentile(times, 0.50),
        "p95": percentile(times, 0.95),
        "p99": percentile(times, 0.99),
        "max": times[-1],
    }


def read_raw(path: Path) -> list[tuple]:
    """Every request locust made: (start, type, name, ms, failed); written by the locustfile."""
    with open(path, newline="") as handle:
        return [(float(t), kind, name, float(ms), failed == "True") for t, kind, name, ms, failed in csv.reader(handle)]


def stats_table(raw: list[tuple], steady_from: float) -> tuple[str, dict]:
    """Per request name and in total: requests, failures, requests/s over the run, exact p50/p95/p99, max.
    INFO rows are events, not requests (a score cell refused by the optimistic lock): counted apart."""
    requests = [r for r in raw if r[1] != "INFO"]
    span = max(t + ms / 1000 for t, _k, _n, ms, _f in requests) - min(t for t, *_ in requests)
    portal_label = "supplier portal (/portal/...), sign-ins included"
    width = max(len(portal_label), *(len(name) for _t, _k, name, *_ in raw)) + 1
    header = f"{'type':<5} {'name':<{width}} {'requests':>8} {'fails':>5} {'req/s':>6} {'p50':>6} {'p95':>6} {'p99':>6} {'max':>6}"
    lines = [header + "   (ms)", "-" * len(header)]

    def line(kind: str, name: str, s: dict) -> str:
        return (
            f"{kind:<5} {name:<{width}} {s['requests']:>8,} {s['failures']:>5} {s['requests'] / span:>6.1f} "
            f"{s['p50']:>6,.0f} {s['p95']:>6,.0f} {s['p99']:>6,.0f} {s['max']:>6,.0f}"
        )

    groups: dict[tuple[str, str], list[tuple]] = {}
    for row in requests:
        groups.setdefault((row[2], row[1]), []).append(row)
    for (name, kind), rows in sorted(groups.items()):
        lines.append(line(kind, name, summarise(rows)))
    lines.append("-" * len(header))
    total = summarise(requests)
    lines.append(line("", "total", total))
    steady = [r for r in requests if r[0] >= steady_from]
    if steady:
        lines.append(line("", "total after the ramp-up (sign-ins done)", summarise(steady)))
    portal = [r for r in requests if r[2].startswith("/portal/")]
    if portal:
        lines.append(line("", portal_label, summarise(portal)))
    events = [r for r in raw if r[1] == "INFO"]
    for name in sorted({r[2] for r in events}):
        lines.append(f"{'':<5} {name}: {sum(1 for r in events if r[2] == name)} (not failures)")
    return "\n".join(lines), total


def query_table(directory: Path) -> tuple[str, list[int]]:
    views: dict[str, list[int]] = {}
    per_worker = []
    for path in sorted(directory.glob("worker-*.json")):
        data = json.loads(path.read_text())
        per_worker.append(data["requests"])
        for name, (count, queries, most) in data["views"].items():
            row = views.setdefault(name, [0, 0, 0])
            row[0] += count
            row[1] += queries
            row[2] = max(row[2], most)
    lines = [f"{'Django view':<32} {'requests':>8} {'queries/request':>15} {'max':>5}"]
    for name, (count, queries, most) in sorted(views.items(), key=lambda item: -item[1][1] / item[1][0]):
        lines.append(f"{name:<32} {count:>8,} {queries / count:>15.1f} {most:>5}")
    return "\n".join(lines), per_worker


def database_activity(url: str, name: str) -> dict:
    import psycopg

    with psycopg.connect(f"{server_and_name(url)[0]}/postgres", autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted, tup_updated, blks_hit, "
            "blks_read FROM pg_stat_database WHERE datname = %s",
            [name],
        ).fetchone()
    keys = ["commits", "rollbacks", "rows_returned", "rows_fetched", "inserted", "updated", "blks_hit", "blks_read"]
    return dict(zip(keys, row, strict=True))


# --- Main -------------------------------------------------------------------------------------------


def main() -> int:
    cpus = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=40, help="simulated users (default 40)")
    parser.add_argument("--duration", type=int, default=60, help="seconds of load, ramp-up included (default 60)")
    parser.add_argument("--spawn-rate", type=float, help="users started a second (default: all in 10 s)")
    parser.add_argument("--workers", type=int, default=2 * cpus + 1, help=f"gunicorn workers (default {2 * cpus + 1})")
    parser.add_argument("--vendors", type=int, default=2000, help="vendors added to the demo register (default 2000)")
    parser.add_argument(
        "--portal-invitations",
        type=int,
        default=30,
        help="people invited to the demo RFP for the vendor journey, one link per vendor user (default 30)",
    )
    args = parser.parse_args()
    spawn_rate = args.spawn_rate or max(1.0, args.users / 10)

    import redis

    broker = redis.Redis.from_url(REDIS_URL)
    broker.ping()
    broker.flushdb()
    scratch = Path(tempfile.mkdtemp(prefix="vendorselect-load-"))
    (scratch / "stats").mkdir()
    # The var directory holds only the collected static files (the cache and broker are in Redis, the
    # database in PostgreSQL, uploads under MEDIA_ROOT in the scratch directory).
    os.environ.update(VENDORSELECT_VAR_DIR=str(STATIC_VAR), MEDIA_ROOT=str(scratch / "media"))
    database = create_database(BASE_URL, "load")
    os.environ["DATABASE_URL"] = database
    db_name = server_and_name(database)[1]
    server, server_log, exit_code = None, scratch / "gunicorn.log", 1
    started = time.perf_counter()
    try:
        # Prepared in this process with the server's settings; the seed's notifications run eagerly, unsent.
        setup_env = {
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "LOG_LEVEL": "WARNING",
        }
        os.environ.update(setup_env)
        summary = prepare(args.vendors, args.portal_invitations)
        for name in setup_env:
            os.environ.pop(name)
        print(f"database {db_name}: {summary}; ready in {time.perf_counter() - started:.0f} s")

        port = free_port()
        host = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "gunicorn", "vendorselect.wsgi:application", "--bind", f"127.0.0.1:{port}"]
        command += ["--workers", str(args.workers), "--timeout", "150", "--config", str(HOOKS)]
        command += ["--no-control-socket"]  # not the shared ~/.gunicorn/gunicorn.ctl
        mail_dir = scratch / "mail"
        secrets_of_the_clients = ("LOAD_DEMO_PASSWORDS", "LOAD_PORTAL_TOKENS")
        server_env = {key: value for key, value in os.environ.items() if key not in secrets_of_the_clients}
        # The vendors' one-time codes: e-mails written as files, which the vendor journey reads.
        server_env.update(
            EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend", EMAIL_FILE_PATH=str(mail_dir)
        )
        with server_log.open("w") as log:
            server = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**server_env, "LOAD_STATS_DIR": str(scratch / "stats")},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_healthy(f"{host}/healthz", server, server_log)
        before = database_activity(database, db_name)
        print(
            f"gunicorn: {args.workers} sync workers on {host}; locust: {args.users} users, {spawn_rate:g}/s, "
            f"{args.duration} s; {cpus} CPUs, load average {os.getloadavg()[0]:.1f} at start"
        )
        prefix = scratch / "locust"
        locust = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", host]
        locust += ["-u", str(args.users), "-r", f"{spawn_rate:g}", "-t", f"{args.duration}s", "--stop-timeout", "10"]
        locust += ["--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"]
        locust_log = scratch / "locust.log"
        locust_env = {**os.environ, "LOAD_RAW_CSV": str(scratch / "raw.csv"), "LOAD_MAIL_DIR": str(mail_dir)}
        with locust_log.open("w") as log:
            try:
                result = subprocess.run(
                    locust, cwd=ROOT, env=locust_env, stdout=log, stderr=subprocess.STDOUT, timeout=args.duration + 120
                )
            except subprocess.TimeoutExpired:
                raise SystemExit(f"locust did not finish in time:\n{tail(locust_log)}") from None
        load_average = os.getloadavg()[0]
        stop(server)
        after = database_activity(database, db_name)

        raw = read_raw(scratch / "raw.csv") if (scratch / "raw.csv").exists() else []
        if not raw:
            raise SystemExit(f"locust made no requests:\n{tail(locust_log)}")
        steady_from = min(t for t, *_ in raw) + args.users / spawn_rate + 5
        table, total = stats_table(raw, steady_from)
        requests, failures = total["requests"], total["failures"]
        print()
        print(table)
        queries, per_worker = query_table(scratch / "stats")
        print()
        print(f"gunicorn workers: {len(per_worker)}, requests each: {', '.join(f'{n:,}' for n in per_worker)}")
        print(queries)
        delta = {key: after[key] - before[key] for key in before}
        print(
            f"PostgreSQL during the run: {delta['commits']:,} commits, {delta['rollbacks']:,} rollbacks, "
            f"{delta['rows_returned']:,} rows scanned, {delta['rows_fetched']:,} fetched, "
            f"{delta['inserted']:,} inserted, {delta['updated']:,} updated; "
            f"cache hit ratio {delta['blks_hit'] / max(1, delta['blks_hit'] + delta['blks_read']):.1%}"
        )
        print(f"load average at the end {load_average:.1f} (locust, gunicorn and PostgreSQL share the CPUs)")
        failed = (scratch / "locust_failures.csv").read_text().strip().splitlines()[1:]
        if failed:
            print("\nfailures (method, name, error, occurrences):")
            for line in failed:
                print(f"  {line}")
            print(f"\ngunicorn log (tail):\n{tail(server_log)}")
        if result.returncode not in (0, 1):
            print(f"\nlocust log (exit {result.returncode}):\n{tail(locust_log)}")
        exit_code = 0 if requests and not failures and result.returncode == 0 else 1
        verdict = "OK" if exit_code == 0 else "FAILED"
        print(f"\n{verdict}: {requests:,} requests, {failures:,} failures in {time.perf_counter() - started:.0f} s")
    finally:
        stop(server)
        from django.db import connections

        connections.close_all()
        drop_database(database)
        shutil.rmtree(scratch, ignore_errors=True)
        broker.flushdb()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
