"""Cost curves: the same routes timed on a register of today's size (1x), 10x and 100x.

    .venv/bin/python benchmarks/costcurves.py --sizes 1x,10x [--repeat 15] [--keep] [--label after]
    .venv/bin/python benchmarks/costcurves.py --report          # table into docs/performance.md, docs/costcurves.svg

Sizes (vendors, 3 sites each, trail events): 1x = 2,000 / 100,000; 10x = 20,000 / 1 million;
100x = 200,000 / 10 million. Each size lives in its own database, COSTCURVES_DATABASE_URL's server +
"vs_t_cc_<size>" (postgres://postgres@127.0.0.1:5432 by default). It is built once: migrate, seed_demo,
then bulk inserts (vendors with kinds, services, modalities, dosage forms, phases and a contact; three
sites each with capabilities; 0-4 regulatory inspections per site; a planned audit with two findings for
one site in ten), an evaluation in scoring with 50 candidates scored by both demo evaluators, and the
trail padded to its size server-side (INSERT ... SELECT of the events the inserts wrote, moved back in
time over three years and attributed to the demo users). 100x is a copy of the kept 10x database grown
server-side (`grow_register`), then padded. The database is kept when --keep is given and dropped after
the run otherwise; a kept one is reused as it is.

Each size runs in a child process with production settings (DJANGO_DEBUG off, the collected static
files of var/load), in process with Django's test Client: per route, one warm-up then --repeat requests;
p50 and p95 (nearest rank) of the wall time, and the SQL queries of one request; a route slower than
10 s at its warm-up is timed by that one request. The FDA import is the
management command's path (read_table, check_inspections, apply_inspections in the command's trail
context) on a 100,000-row export of the register's FEI numbers (two files of 50,000: IMPORT_MAX_ROWS), in a transaction rolled back after
each run (so each run creates the same 100,000 inspections), 3 runs.

Results go to var/costcurves/results.json, by label (e.g. "before" and "after" a fix) and size;
--report writes the table (the newest label per size, and the first label's figures beside it when
there are two) into docs/performance.md between the costcurves markers and draws docs/costcurves.svg.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SERVER = os.environ.get("COSTCURVES_DATABASE_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
# In growing order (the report's last size measured is "the largest"). 10x+trail100x: the 10x register
# with the 100x trail, a copy of the 10x database whose trail is padded to 10 million events.
SIZES = {
    "1x": (2_000, 100_000),
    "10x": (20_000, 1_000_000),
    "10x+trail100x": (20_000, 10_000_000),
    "100x": (200_000, 10_000_000),
}
# 100x starts as a copy of 10x whose register is grown server-side (grow_register) and trail padded.
TEMPLATES = {"10x+trail100x": "10x", "100x": "10x"}
RESULTS = ROOT / "var" / "costcurves" / "results.json"
PERFORMANCE = ROOT / "docs" / "performance.md"
CHART = ROOT / "docs" / "costcurves.svg"
BEGIN, END = "<!-- costcurves:begin -->", "<!-- costcurves:end -->"
EVALUATION = "Cost curves: 50 candidates"
IMPORT_ROWS = 100_000
SLOW = 10.0  # seconds: a route slower than this at its warm-up is not repeated (the warm-up is its one sample)

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
PROFILE_KINDS = {
    "biologics": ["CDMO"], "integrated": ["CDMO", "CRO"], "clinical": ["CRO"], "api": ["CMO"],
    "sterile": ["CMO"], "chemistry": ["CRO"], "peptide": ["CDMO"], "oral": ["CMO"], "cgt": ["CDMO"],
    "preclinical": ["CRO"],
}  # fmt: skip
COUNTRIES = ["US", "US", "US", "DE", "IN", "CN", "GB", "FR", "JP", "CH", "IE", "IT", "KR", "CA", "SG", "NL", "BE"]
AGENCY = {"US": "FDA", "GB": "MHRA", "JP": "PMDA"}
STATUSES = ["prospect"] * 8 + ["under_qualification"] * 4 + ["approved"] * 5 + ["conditionally_approved"] * 2
STATUSES += ["disqualified"]


def database_name(size: str) -> str:
    return "vs_t_cc_" + size.replace("+", "_")


def database_url(size: str) -> str:
    return f"{SERVER}/{database_name(size)}"


def database_exists(size: str) -> bool:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        return bool(conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database_name(size)]).fetchone())


def admin_sql(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


# --- Data (in the child, Django set up) ----------------------------------------------------------------


def add_register(vendors: int, seed: int = 20261128) -> dict:
    """`vendors` vendors, three sites each, inspections, audits with findings; bulk inserts in large
    batches (the trail's triggers record every row, as for an import)."""
    import random
    from datetime import date, timedelta
    from decimal import Decimal

    from accounts.models import User
    from audits.models import Audit, Finding
    from vendors.models import Contact, DosageForm, Kind, Modality, Phase, RegulatoryInspection, Service, Site, Vendor

    rng = random.Random(seed)
    kinds = {k.code: k.pk for k in Kind.objects.all()}
    services = list(Service.objects.values_list("pk", flat=True))
    modalities = list(Modality.objects.values_list("pk", flat=True))
    forms = list(DosageForm.objects.values_list("pk", flat=True))
    phases = list(Phase.objects.values_list("pk", flat=True))
    today = date.today()
    auditor = User.objects.get(username="auditor")
    counts = dict.fromkeys(("vendors", "sites", "inspections", "audits", "findings"), 0)
    chunk = 10_000
    for start in range(0, vendors, chunk):
        batch = []
        for i in range(start, min(vendors, start + chunk)):
            prefix = PREFIXES[i % len(PREFIXES)]
            suffix, _ = SUFFIXES[(i // len(PREFIXES)) % len(SUFFIXES)]
            name = f"{prefix} {suffix} {i // (len(PREFIXES) * len(SUFFIXES)) + 1:04d}"
            batch.append(
                Vendor(
                    name=name,
                    legal_name=f"{name} Ltd",
                    country=rng.choice(COUNTRIES),
                    website=f"https://{prefix.lower()}-{i}.example",
                    description=f"{name} offers {suffix.lower()} services. Fictional company for cost curves.",
                    status=rng.choice(STATUSES),
                )
            )
        created = Vendor.objects.bulk_create(batch, batch_size=5000)
        links = {name: [] for name in ("kinds", "services", "modalities", "dosage_forms", "phases")}
        contacts, sites = [], []
        for offset, vendor in enumerate(created):
            i = start + offset
            profile = SUFFIXES[(i // len(PREFIXES)) % len(SUFFIXES)][1]
            links["kinds"] += [(vendor.pk, kinds[k]) for k in PROFILE_KINDS[profile]]
            links["services"] += [(vendor.pk, s) for s in rng.sample(services, rng.randint(3, 9))]
            links["modalities"] += [(vendor.pk, m) for m in rng.sample(modalities, rng.randint(1, 3))]
            links["dosage_forms"] += [(vendor.pk, f) for f in rng.sample(forms, rng.randint(0, 2))]
            links["phases"] += [(vendor.pk, p) for p in rng.sample(phases, rng.randint(1, 4))]
            contacts.append(Contact(vendor=vendor, name=f"Business development {i}", email=f"bd{i}@cc.example"))
            regime = {"clinical": "GCP", "chemistry": "GLP", "preclinical": "GLP"}.get(profile, "cGMP")
            for number in range(3):
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
            through.objects.bulk_create(
                [through(vendor_id=v, **{f"{target}_id": t}) for v, t in pairs], batch_size=10_000
            )
        Contact.objects.bulk_create(contacts, batch_size=10_000)
        sites = Site.objects.bulk_create(sites, batch_size=10_000)
        Site.capabilities.through.objects.bulk_create(
            [
                Site.capabilities.through(site_id=s.pk, service_id=c)
                for s in sites
                for c in rng.sample(services, rng.randint(2, 6))
            ],
            batch_size=10_000,
        )
        inspections, audits = [], []
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
                        source="manual",
                        source_id=f"CC-{site.pk}-{n}",
                    )
                )
            if site.pk % 10 == 0:
                planned = today + timedelta(days=rng.randint(10, 300))
                audits.append(
                    Audit(
                        site=site,
                        type="routine",
                        planned_start=planned,
                        planned_end=planned + timedelta(days=2),
                        lead_auditor=auditor,
                        agenda="Routine re-audit (cost curves).",
                    )
                )
        RegulatoryInspection.objects.bulk_create(inspections, batch_size=10_000)
        audits = Audit.objects.bulk_create(audits, batch_size=10_000)
        findings = [
            Finding(
                audit=audit,
                number=n,
                severity="minor" if n == 1 else "major",
                area="documentation",
                description="Deviation records were not reviewed within the SOP's 30 days.",
            )
            for audit in audits
            for n in (1, 2)
        ]
        Finding.objects.bulk_create(findings, batch_size=10_000)
        counts["vendors"] += len(created)
        counts["sites"] += len(sites)
        counts["inspections"] += len(inspections)
        counts["audits"] += len(audits)
        counts["findings"] += len(findings)
        print(f"    {counts['vendors']:,} vendors", flush=True)
    return counts


def grow_register(target: int) -> dict:
    """Grow the register to `target` vendors server-side: copies of the vendors `add_register` made (not
    the demo's) with their links, contact, sites, capabilities, inspections, audits and findings, under new
    names, FEI numbers and source ids; INSERT ... SELECT with explicit ids (copy g of row id is id + g x the
    table's largest id), so the trail's triggers record every row as for an import. Minutes, where bulk
    creating 180,000 more vendors from Python takes about an hour."""
    from django.db import connection

    from audits.models import Audit, Finding
    from vendors.models import Contact, RegulatoryInspection, Site, Vendor

    def columns(model, rewrite: dict[str, str]) -> tuple[str, str]:
        names = [f.column for f in model._meta.concrete_fields]
        return ", ".join(f'"{c}"' for c in names), ", ".join(rewrite.get(c, f's."{c}"') for c in names)

    links = [
        (getattr(Vendor, f).through, "vendor_id") for f in ("kinds", "services", "modalities", "dosage_forms", "phases")
    ]
    tables = [
        Vendor,
        *(t for t, _ in links),
        Contact,
        Site,
        Site.capabilities.through,
        RegulatoryInspection,
        Audit,
        Finding,
    ]
    counts: dict[str, int] = {}
    with connection.cursor() as cursor:
        offset = {}
        for model in tables:
            cursor.execute(f'SELECT coalesce(max(id), 0) FROM "{model._meta.db_table}"')
            offset[model] = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM vendors_vendor")
        missing = target - cursor.fetchone()[0]
        cursor.execute(
            "CREATE TEMP TABLE cc_vendors AS SELECT id, row_number() OVER (ORDER BY id) AS n FROM vendors_vendor "
            "WHERE description LIKE %s",
            ["%Fictional company for cost curves."],
        )
        cursor.execute("SELECT count(*) FROM cc_vendors")
        generated = cursor.fetchone()[0]
        if missing <= 0 or not generated:
            return counts
        g = 0
        while missing > 0:
            g += 1
            take = min(missing, generated)
            missing -= take
            v, s_ = offset[Vendor] * g, offset[Site] * g
            cursor.execute("DROP TABLE IF EXISTS cc_src, cc_sites, cc_audits")
            cursor.execute("CREATE TEMP TABLE cc_src AS SELECT id FROM cc_vendors WHERE n <= %s", [take])
            cursor.execute(
                "CREATE TEMP TABLE cc_sites AS SELECT id FROM vendors_site WHERE vendor_id IN (SELECT id FROM cc_src)"
            )
            cursor.execute(
                "CREATE TEMP TABLE cc_audits AS SELECT id FROM audits_audit WHERE site_id IN (SELECT id FROM cc_sites)"
            )
            number = f"substring(s.name from '([0-9]+)$')::int + {1000 * g}"
            renamed = f"regexp_replace(s.name, '[0-9]+$', ({number})::text)"
            plan = [
                (Vendor, "cc_src", "id", {
                    "name": renamed,
                    "legal_name": f"{renamed} || ' Ltd'",
                    "description": f"replace(s.description, s.name, {renamed})",
                }),
                *((t, "cc_src", fk, {fk: f"s.{fk} + {v}"}) for t, fk in links),
                (Contact, "cc_src", "vendor_id", {"vendor_id": f"s.vendor_id + {v}"}),
                (Site, "cc_sites", "id", {
                    "vendor_id": f"s.vendor_id + {v}",
                    "fei_number": f"CASE WHEN s.fei_number = '' THEN '' ELSE (s.fei_number::bigint + {100_000_000 * g})::text END",
                }),
                (Site.capabilities.through, "cc_sites", "site_id", {"site_id": f"s.site_id + {s_}"}),
                (RegulatoryInspection, "cc_sites", "site_id", {
                    "site_id": f"s.site_id + {s_}",
                    "source_id": f"CASE WHEN s.source_id = '' THEN '' ELSE s.source_id || '-' || {g} END",
                }),
                (Audit, "cc_audits", "id", {"site_id": f"s.site_id + {s_}"}),
                (Finding, "cc_audits", "audit_id", {"audit_id": f"s.audit_id + {offset[Audit] * g}"}),
            ]  # fmt: skip
            for model, source, key, rewrite in plan:
                rewrite = {"id": f"s.id + {offset[model] * g}", **rewrite}
                names, values = columns(model, rewrite)
                table = model._meta.db_table
                cursor.execute(
                    f'INSERT INTO "{table}" ({names}) SELECT {values} FROM "{table}" s '
                    f"WHERE s.{key} IN (SELECT id FROM {source})"
                )
                counts[table] = counts.get(table, 0) + cursor.rowcount
            print(f"    copy {g}: +{take:,} vendors", flush=True)
        for model in tables:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT max(id) FROM \"{table}\"))"
            )
        cursor.execute("DROP TABLE IF EXISTS cc_vendors, cc_src, cc_sites, cc_audits")
    return counts


def add_evaluation(candidates: int = 50) -> int:
    """An evaluation in scoring with 50 candidates from across the register, scored by both demo evaluators."""
    import random

    from accounts.models import User
    from scoring import services
    from scoring.models import Candidate, Score
    from vendors.models import Vendor

    lead = User.objects.get(username="lead")
    evaluators = list(User.objects.filter(username__in=["evaluator", "evaluator2"]))
    evaluation = services.evaluation_create(
        lead=lead, name=EVALUATION, evaluators=evaluators, description="Ranking at every size of the register."
    )
    total = Vendor.objects.count()
    step = max(1, total // candidates)
    ids = list(Vendor.objects.order_by("pk").values_list("pk", flat=True)[::step][:candidates])
    Candidate.objects.bulk_create([Candidate(evaluation=evaluation, vendor_id=v, added_by=lead) for v in ids])
    evaluation = services.evaluation_transition(evaluation=evaluation, user=lead, action="start_scoring")
    rng = random.Random(3)
    judged = list(evaluation.criteria.filter(evidence=""))
    Score.objects.bulk_create(
        [
            Score(candidate=c, criterion=k, evaluator=e, value=rng.randint(1, 5))
            for c in evaluation.candidates.all()
            for k in judged
            for e in evaluators
        ]
    )
    return evaluation.pk


def pad_trail(target: int) -> int:
    """Bring the trail to `target` events: copies of the events already written (the largest event
    tables, in proportion), server-side, moved back in time over three years and attributed to the demo
    users (their context: user and URL), as years of work would have left them. Returns the total."""
    import pghistory.models
    from django.apps import apps
    from django.db import connection

    from accounts.models import User

    event_models = [m for m in apps.get_models() if issubclass(m, pghistory.models.Event) and not m._meta.abstract]
    sizes = {}
    with connection.cursor() as cursor:
        for model in event_models:
            cursor.execute(f'SELECT count(*) FROM "{model._meta.db_table}"')
            sizes[model] = cursor.fetchone()[0]
        total = sum(sizes.values())
        missing = target - total
        if missing <= 0:
            return total
        users = list(User.objects.order_by("pk").values_list("pk", flat=True))
        big = [m for m, n in sorted(sizes.items(), key=lambda item: -item[1]) if n][:8]
        base = sum(sizes[m] for m in big)
        for model in big:
            table = model._meta.db_table
            want = round(missing * sizes[model] / base)
            copies = -(-want // sizes[model])
            columns = [f.column for f in model._meta.concrete_fields if f.column not in ("pgh_id",)]
            select = []
            for column in columns:
                if column == "pgh_created_at":
                    select.append(
                        "now() - make_interval(secs => ((e.pgh_id::bigint * 7919 + g::bigint * 104729) %% 94608000))"
                    )
                elif column == "pgh_context":
                    select.append(
                        "jsonb_build_object('user', (%s::int[])[1 + ((e.pgh_id + g * 31) %% "
                        f"{len(users)})], 'url', '/vendors/')"
                    )
                elif column == "pgh_context_id":
                    select.append("NULL::uuid")
                else:
                    select.append(f'e."{column}"')
            names = ", ".join(f'"{c}"' for c in columns)
            cursor.execute(
                f'INSERT INTO "{table}" ({names}) SELECT {", ".join(select)} '
                f'FROM "{table}" e, generate_series(1, %s) g LIMIT %s',
                [users, copies, want] if "pgh_context" in columns else [copies, want],
            )
            print(f"    {table}: +{cursor.rowcount:,}", flush=True)
        total = 0
        for model in event_models:
            cursor.execute(f'SELECT count(*) FROM "{model._meta.db_table}"')
            total += cursor.fetchone()[0]
        return total


def build(size: str) -> None:
    import io

    from django.core.management import call_command
    from django.db import connection

    from core import trail
    from vendors.models import Vendor

    vendors, events = SIZES[size]
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=io.StringIO())
    print(f"  migrate + seed_demo {time.perf_counter() - started:.0f} s", flush=True)
    with trail.context(command="costcurves volume"):
        counts = add_register(vendors - Vendor.objects.count())
        add_evaluation()
    print(f"  register {counts} {time.perf_counter() - started:.0f} s", flush=True)
    total = pad_trail(events)
    print(f"  trail {total:,} events {time.perf_counter() - started:.0f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS costcurves_built (size text, built_at timestamptz DEFAULT now())")
        cursor.execute("INSERT INTO costcurves_built (size) VALUES (%s)", [size])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"  vacuum analyze {time.perf_counter() - started:.0f} s", flush=True)


def is_built() -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('costcurves_built') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return False
        cursor.execute("SELECT count(*) FROM costcurves_built")
        return cursor.fetchone()[0] > 0


# --- Measuring ------------------------------------------------------------------------------------


def percentile(ordered: list[float], share: float) -> float:
    """Nearest rank."""
    import math

    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def timed(call, repeat: int, warm: bool = True) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, queries = [], 0
    if warm:
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            call()
            took = time.perf_counter() - started
        if took > SLOW:  # too slow to repeat: the warm-up is the one sample
            return {"p50": took * 1000, "p95": took * 1000, "queries": len(captured), "n": 1}
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            call()
            times.append((time.perf_counter() - started) * 1000)
        queries = len(captured)
    times.sort()
    return {"p50": percentile(times, 0.5), "p95": percentile(times, 0.95), "queries": queries, "n": repeat}


def fda_export(rows: int, parts: int) -> list[bytes]:
    """An FDA Data Dashboard export of `rows` rows (one per inspection) for the register's FEI numbers,
    in `parts` files."""
    import csv
    import io
    import random
    from datetime import date, timedelta

    from vendors import fda
    from vendors.models import Site

    feis = list(Site.objects.exclude(fei_number="").order_by("pk").values_list("fei_number", flat=True))
    rng = random.Random(5)
    today = date.today()
    files = []
    for n in range(rows):
        if n % (rows // parts) == 0:
            out = io.StringIO()
            files.append(out)
            writer = csv.writer(out)
            writer.writerow(fda.COLUMNS)
        fei = feis[(n * 7) % len(feis)]
        end = today - timedelta(days=30 + rng.randint(0, 3000))
        writer.writerow(
            [
                fei, f"Firm {fei}", "1 Industrial Way", "Springfield", "NJ", "07081", "United States",
                end.year, 900000000 + n, rng.choice(["Yes", "No"]), end.isoformat(),
                rng.choice(["NAI", "NAI", "VAI", "OAI"]), "Drug Quality Assurance", "Drugs",
            ]
        )  # fmt: skip
    return [out.getvalue().encode() for out in files]


def measure(size: str, repeat: int, only: set[str] | None) -> dict:
    from django.db import connection, transaction
    from django.test import Client

    from accounts.models import User
    from core import trail
    from scoring.models import Evaluation
    from vendors import fda, importing
    from vendors.models import Service, Vendor

    # The import's runs are rolled back: their 100,000 inspections (and trail events) stay behind as dead
    # rows and index entries until a vacuum, which would slow the register's inspection lookups down.
    vacuum = "VACUUM ANALYZE vendors_regulatoryinspection, vendors_regulatoryinspectionevent"
    with connection.cursor() as cursor:
        cursor.execute(vacuum)
    manager, lead = User.objects.get(username="manager"), User.objects.get(username="lead")
    qa = User.objects.get(username="qa-manager")
    # As behind production's TLS-terminating proxy (SECURE_SSL_REDIRECT is on).
    reader, ranker = Client(headers={"x-forwarded-proto": "https"}), Client(headers={"x-forwarded-proto": "https"})
    reader.force_login(manager)
    ranker.force_login(lead)
    evaluation = Evaluation.objects.get(name=EVALUATION)
    vendor = Vendor.objects.order_by("pk")[Vendor.objects.count() // 2]
    service = Service.objects.order_by("pk").first().code
    # A keyset link from the middle of the trail (Next from a page that deep): what any deep page costs.
    from urllib.parse import urlencode

    from django.apps import apps

    vendor_events = apps.get_model("vendors", "VendorEvent")
    middle = vendor_events.objects.order_by("-pgh_created_at", "-pgh_id")[vendor_events.objects.count() // 2]
    deep = urlencode({"model": "", "page": 2, "after": trail.key_of(middle)})
    routes = [
        ("register list", reader, "/vendors/"),
        ("register list, page 20", reader, "/vendors/?page=20"),
        ("register filter", reader, f"/vendors/?country=DE&status=approved&service={service}"),
        ("register search", reader, "/vendors/?q=Cobalt+Peptides"),
        ("register API", reader, "/api/v1/vendors/?country=DE"),
        ("vendor page", reader, f"/vendors/{vendor.pk}/"),
        ("ranking API (50 candidates)", ranker, f"/api/v1/evaluations/{evaluation.pk}/ranking/"),
        ("ranking page (50 candidates)", ranker, f"/evaluations/{evaluation.pk}/ranking/"),
        ("trail, one type", reader, "/trail/?model=vendors.Vendor"),
        ("trail, one type, filtered", reader, f"/trail/?model=vendors.Site&action=insert&user={qa.pk}"),
        ("trail, all types", reader, "/trail/?model="),
        ("trail, all types, page 5", reader, "/trail/?model=&page=5"),
        ("trail, all types, Next from mid-trail", reader, f"/trail/?{deep}"),
        ("trail, all types, filtered", reader, f"/trail/?user={qa.pk}&since=2025-06-01&until=2025-12-31"),
        ("trail, all types, by record id", reader, f"/trail/?object_id={vendor.pk}"),
    ]
    results = {}
    for name, client, url in routes:
        if only and name not in only:
            continue

        def call(client=client, url=url):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        results[name] = timed(call, repeat) | {"url": url}
        print(f"  {name:<34} p50 {results[name]['p50']:9.1f} ms  p95 {results[name]['p95']:9.1f} ms  "
              f"{results[name]['queries']:4} queries", flush=True)  # fmt: skip
    if not only or "FDA import (100,000 rows)" in only:
        # The import refuses files over IMPORT_MAX_ROWS (50,000) rows: 100,000 rows are two files.
        files = fda_export(IMPORT_ROWS, parts=2)

        def run_import():
            with transaction.atomic():
                for number, data in enumerate(files, start=1):
                    columns, body = importing.read_table(data, f"inspections-{number}.csv")
                    result = fda.check_inspections(columns, body)
                    assert not result.errors, result.errors[:3]
                    with trail.context(command=f"import_fda_inspections inspections-{number}.csv"):
                        counts = fda.apply_inspections(result)
                    assert counts["create"] > 0, counts
                transaction.set_rollback(True)

        name = "FDA import (100,000 rows)"
        results[name] = timed(run_import, 3, warm=False) | {"url": "manage.py import_fda_inspections"}
        with connection.cursor() as cursor:
            cursor.execute(vacuum)
        print(f"  {name:<34} p50 {results[name]['p50']:9.1f} ms  p95 {results[name]['p95']:9.1f} ms  "
              f"{results[name]['queries']:4} queries", flush=True)  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT count(*) FROM vendors_vendor), (SELECT count(*) FROM vendors_site)")
        vendors, sites = cursor.fetchone()
    from django.apps import apps
    from pghistory.models import Event

    events = 0
    with connection.cursor() as cursor:
        for model in apps.get_models():
            if issubclass(model, Event) and not model._meta.abstract:
                cursor.execute(f'SELECT count(*) FROM "{model._meta.db_table}"')
                events += cursor.fetchone()[0]
    return {"routes": results, "vendors": vendors, "sites": sites, "events": events}


def legacy_search(*, model="", user=None, since=None, until=None, object_id="", action=""):
    """The trail search before the cost curves (pghistory's Events view across every event table, counted
    by the Paginator), for --legacy-trail: the "before" figures."""
    from datetime import UTC, datetime, timedelta
    from datetime import time as clock

    from pghistory.models import Events

    from core import trail

    across = [m for m in trail._all_event_models() if not model or m.pgh_tracked_model._meta.label == model]
    events = Events.objects.across(*across)
    if user is not None:
        events = events.filter(pgh_context__user=user.pk)
    if since:
        events = events.filter(pgh_created_at__gte=datetime.combine(since, clock.min, tzinfo=UTC))
    if until:
        events = events.filter(pgh_created_at__lt=datetime.combine(until + timedelta(days=1), clock.min, tzinfo=UTC))
    if object_id:
        events = events.filter(pgh_obj_id=object_id)
    if action:
        events = events.filter(pgh_label=action)
    return events.order_by("-pgh_created_at", "-pgh_id")


def child(size: str, repeat: int, label: str, only: set[str] | None, legacy: bool = False) -> None:
    import django

    django.setup()
    if legacy:
        from core import trail

        trail.search = legacy_search
    if not is_built():
        print(f"building {size} ...", flush=True)
        build(size)
    else:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)  # a kept database gets the indexes added since it was built
        if size in TEMPLATES:
            from django.db import connection

            from core import trail

            started = time.perf_counter()
            with trail.context(command="costcurves volume"):
                grown = grow_register(SIZES[size][0])
            if grown:
                print(f"  register grown {grown} {time.perf_counter() - started:.0f} s", flush=True)
            total = pad_trail(SIZES[size][1])
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
            print(f"  trail {total:,} events {time.perf_counter() - started:.0f} s", flush=True)
    print(f"measuring {size} ({label}) ...", flush=True)
    figures = measure(size, repeat, only)
    figures["measured_at"] = time.strftime("%Y-%m-%d %H:%M")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    entry = stored.setdefault(label, {}).setdefault(size, {})
    routes = entry.get("routes", {})
    routes.update(figures.pop("routes"))
    entry.update(figures, routes=routes)
    RESULTS.write_text(json.dumps(stored, indent=1))


def child_env(size: str) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="vendorselect.settings",
        DJANGO_DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="testserver",
        DATABASE_URL=database_url(size),
        VENDORSELECT_VAR_DIR=str(ROOT / "var" / "load"),  # the static files collected by benchmarks/load.py
        CELERY_TASK_ALWAYS_EAGER="0",
    )
    for name in ("SECURE_SSL_REDIRECT", "CACHE_URL", "CELERY_BROKER_URL", "DB_CONN_MAX_AGE"):
        env.pop(name, None)
    # Production's defaults; the test client's requests say they came through the TLS proxy.
    return env


# --- Report ---------------------------------------------------------------------------------------


def growth(figures: dict, sizes: list[str], route: str) -> str:
    """p95 at the largest size measured for the route over its p95 at 1x."""
    measured = [s for s in sizes if route in figures.get(s, {}).get("routes", {})]
    if len(measured) < 2 or measured[0] != sizes[0]:
        return "—"
    base, top = (figures[s]["routes"][route]["p95"] for s in (measured[0], measured[-1]))
    return f"{top / base:.1f}x ({measured[-1]})"


def report() -> None:
    stored = json.loads(RESULTS.read_text())
    labels = list(stored)
    latest = labels[-1]
    first = labels[0] if len(labels) > 1 else None
    sizes = [s for s in SIZES if s in stored[latest]]
    routes = list(stored[latest][sizes[0]]["routes"])
    lines = [BEGIN, "", "## Cost curves at 1x, 10x and 100x (`benchmarks/costcurves.py`, issue 19)", ""]
    shape = ", ".join(
        f"{s}: {stored[latest][s]['vendors']:,} vendors, {stored[latest][s]['sites']:,} sites, "
        f"{stored[latest][s]['events']:,} trail events"
        for s in sizes
    )
    lines += [
        f"Sizes built: {shape}. In process (Django's test Client, DEBUG off, production settings), one "
        f"warm-up then {stored[latest][sizes[0]]['routes'][routes[0]]['n']} requests per route (the FDA "
        "import: 3 runs, each rolled back); p50/p95 in ms, nearest rank; q = SQL queries of one request.",
        "",
    ]
    head = "| route | " + " | ".join(f"{s} p50 / p95 (q)" for s in sizes) + " | p95 largest size / 1x |"
    lines += [head, "|---|" + "---:|" * (len(sizes) + 1)]
    for route in routes:
        cells = []
        for s in sizes:
            r = stored[latest][s]["routes"].get(route)
            cells.append(f"{r['p50']:,.0f} / {r['p95']:,.0f} ({r['queries']})" if r else "—")
        ratio = growth(stored[latest], sizes, route)
        lines.append(f"| {route} | " + " | ".join(cells) + f" | {ratio} |")
    if first:
        lines += [
            "",
            f"Before the fixes (label `{first}`: `--legacy-trail`; at 1x and 10x without the costcurve indexes):",
            "",
            head,
            "|---|" + "---:|" * (len(sizes) + 1),
        ]
        for route in routes:
            cells = []
            for s in sizes:
                r = stored[first].get(s, {}).get("routes", {}).get(route)
                cells.append(f"{r['p50']:,.0f} / {r['p95']:,.0f} ({r['queries']})" if r else "—")
            ratio = growth(stored[first], sizes, route)
            lines.append(f"| {route} | " + " | ".join(cells) + f" | {ratio} |")
    missing = [s for s in SIZES if s not in sizes]
    if missing:
        lines += [
            "",
            f"Not built in this run: {', '.join(missing)}.",
        ]
    lines += ["", "![p95 per route and size](costcurves.svg)", "", NOTES.strip(), "", END]
    section = "\n".join(lines) + "\n"
    text = PERFORMANCE.read_text()
    if BEGIN in text:
        text = text[: text.index(BEGIN)] + section + text[text.index(END) + len(END) + 1 :]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    PERFORMANCE.write_text(text)
    CHART.write_text(chart(stored[latest], sizes, routes, stored[first] if first else None))
    print(section)


NOTES = """
Running it: `.venv/bin/python benchmarks/costcurves.py --sizes 1x,10x,100x --keep` (databases `vs_t_cc_<size>`
on `COSTCURVES_DATABASE_URL`'s server, kept and reused with `--keep`), then `--report` for this section and
the chart; `--legacy-trail` times the trail search as it was (the "before" figures), `--only` some routes
(separated by `;`). 1x and 10x are built from Python (bulk inserts, 1 and 5 minutes); 100x is a copy of
10x whose register is grown server-side (`grow_register`: copies of the generated vendors with everything
they hold, INSERT ... SELECT, the trail's triggers recording each row) and whose trail is padded to 10
million events: 4.5 minutes where bulk creating the 180,000 vendors took about an hour. The
`10x+trail100x` column (the 10x register with a 10-million-event trail) is kept from the run of
2026-11-27, before 100x could be built. Figures on 2 CPUs: single requests vary by 2x; p50 is the
steadier figure.

What grew, and what was done:

- **Trail search** (all record types, and any search in a large type). pghistory's `Events` view is a
  UNION ALL over the 58 event tables that computes, for every event of the trail, its data
  (`row_to_json`), the previous event of the same record (a correlated lookup) and the diff, before
  sorting and paging; the paginator then counted the whole union. `core.trail.Search` reads a page in
  two queries whose cost depends on the page, not on the trail: the keys (one index scan per event
  table, newest first, limited to the page's end, merged), then only those events with their previous
  events for the diffs. The count is exact up to 10,000 results (a bounded count) and PostgreSQL's
  estimate above that (two significant figures; `Search.estimated`). The migrations
  `00NN_costcurve_indexes` add to every event table an index on `(pgh_created_at, pgh_id)` and one on the
  context's user in the same order. Same events, data, diffs and contexts as before (`tests/test_trail.py`
  compares both for every kind of filter).
- **Deep trail pages**: Next and Previous carry the place of the page's last or first entry (time, event
  table, id) and read the page after or before it by keyset (`trail.page`), so a page 2,000 pages deep
  costs what page 2 does (route "Next from mid-trail"); `page=n` alone is still read by offset.
- **Register search** (`?q=`): it was `ILIKE` on name, legal name and description OR a subquery on sites, a
  scan of every vendor. Now trigram indexes (`pg_trgm`, vendors 0015: on `UPPER(column)`, which is what
  `icontains` compares) on those columns and on the site's name, and one `IN` over a UNION of the vendors
  and the sites that match, each side a bitmap of index scans; a larger statistics sample on those
  indexes (0016) so that PostgreSQL sees that a search matches hundreds, not thousands, and looks them
  up by key. Terms shorter than 3 characters have no trigram: they keep the one pass over the register.
- **Register filters by term** (service, kind, modality, dosage form, phase): a join per term and
  `DISTINCT` over every column and annotation of every matching vendor, before the page was cut; now a
  semi-join on the link table per term (`pk IN (...)`), no duplicates, no DISTINCT.
- **Country filter's counts**: counted over the whole register on every register page (a third of its
  time at 100x). `vendors_countrycount` is kept by statement-level triggers with transition tables
  (vendors 0016): exact whatever writes vendors (pages, API, bulk import, queryset updates, raw SQL,
  TRUNCATE), one aggregated upsert per statement.
- **Bulk statements as the owner** (the FDA import, migrations, this generator): the hardened
  `_pgtrigger_should_ignore` read its setting in an EXCEPTION block, a subtransaction per row and trigger
  whose end walks the statement's queued after-trigger events: quadratic in the rows of one statement.
  It reads the setting with `missing_ok` now (`core/records.py`); the FDA import of 100,000 rows went from
  30 to 14-20 s. The application's role never reached that block.
- **Register sorted by name**: an index on `vendors_vendor (name, id)`, so that a page of the register is
  an index scan, not a sort of every vendor.
- Flat already: the vendor page, the ranking of 50 candidates (API and page), the FDA import (its time
  goes per row, not with the register).
- The import's runs are rolled back, and the 300,000 dead inspections they leave slowed the 1x register
  pages down 5-10x until a vacuum: the script vacuums the two tables before and after measuring. In
  production, a large import that fails leaves the same: autovacuum's thresholds matter there.

Still growing (at 100x):

- **Register filter**, p95 1.65x at 100x (within the target): the paginator's exact count of every
  matching vendor grows (30-40 ms for country + status + service at 200,000). An index on (country,
  status) took that count from 38 to 26 ms in a trial: not adopted. The unfiltered register (and one
  filtered by country only) takes its count from the kept country counts and stays flat.
- **Searches of 1-2 characters, and broad ones** (a word most names hold, e.g. "Plant"): no trigram to
  look up, or most of the register matches; a pass over the vendors and sites, about 1 s at 200,000
  vendors (16 ms at 2,000). Before, the OR with the sites' subquery re-ran that subquery for every vendor
  once the matching sites outgrew `work_mem`: 10 minutes for "Plant" at 200,000.
"""


def chart(figures: dict, sizes: list[str], routes: list[str], before: dict | None = None) -> str:
    """p95 per route (one line each) against the size, log scale on both axes; the trail routes before the
    fix (`before`) as thin grey lines."""
    import math
    from html import escape

    width, height, left, top, plot_w, plot_h = 1180, 520, 70, 30, 520, 420
    values = [figures[s]["routes"][r]["p95"] for s in sizes for r in routes if r in figures[s]["routes"]]
    old = {
        r: [(i, before[s]["routes"][r]["p95"]) for i, s in enumerate(sizes) if r in before.get(s, {}).get("routes", {})]
        for r in routes
        if before and r.startswith("trail") and any(r in before.get(s, {}).get("routes", {}) for s in sizes)
    }
    values += [v for points in old.values() for _, v in points]
    low, high = math.floor(math.log10(max(min(values), 0.1))), math.ceil(math.log10(max(values)))
    high = max(high, low + 1)
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
               "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173"]  # fmt: skip

    def x(index):
        return left + (plot_w * index / max(1, len(sizes) - 1) if len(sizes) > 1 else plot_w / 2)

    def y(value):
        return top + plot_h * (1 - (math.log10(max(value, 0.1)) - low) / (high - low))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="sans-serif" font-size="12" role="img" aria-label="p95 per route at each size">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{left}" y="18" font-size="14">p95 (ms, log scale) per route at each size of the data</text>',
    ]
    for power in range(low, high + 1):
        py = y(10**power)
        parts.append(f'<line x1="{left}" y1="{py:.1f}" x2="{left + plot_w}" y2="{py:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 8}" y="{py + 4:.1f}" text-anchor="end">{10**power:g}</text>')
    for index, size in enumerate(sizes):
        parts.append(f'<line x1="{x(index):.1f}" y1="{top}" x2="{x(index):.1f}" y2="{top + plot_h}" stroke="#eee"/>')
        parts.append(f'<text x="{x(index):.1f}" y="{top + plot_h + 18}" text-anchor="middle">{size}</text>')
    for route, points in old.items():
        parts.append(
            '<polyline fill="none" stroke="#999" stroke-width="1" stroke-dasharray="2,2" points="'
            + " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in points)
            + '"/>'
        )
        i, v = points[-1]
        parts.append(
            f'<text x="{x(i) + 6:.1f}" y="{y(v) + 4:.1f}" font-size="10" fill="#666">{escape(route)} (before)</text>'
        )
    for n, route in enumerate(routes):
        colour = colours[n % len(colours)]
        points = [
            (x(i), y(figures[s]["routes"][route]["p95"])) for i, s in enumerate(sizes) if route in figures[s]["routes"]
        ]
        dash = ' stroke-dasharray="5,3"' if n >= len(colours) // 2 + 3 else ""
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="'
            + " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            + '"/>'
        )
        for px, py in points:
            parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}"/>')
        ly = top + 10 + n * 18
        parts.append(
            f'<line x1="{left + plot_w + 230}" y1="{ly}" x2="{left + plot_w + 250}" y2="{ly}" stroke="{colour}" stroke-width="2"{dash}/>'
        )
        parts.append(f'<text x="{left + plot_w + 256}" y="{ly + 4}">{escape(route)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1x,10x", help="comma-separated: 1x, 10x, 100x")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep the databases (and reuse kept ones)")
    parser.add_argument("--label", default="after", help="the name these figures are stored under")
    parser.add_argument("--only", default="", help="route names to measure, separated by ';' (default: all)")
    parser.add_argument("--report", action="store_true", help="write the table and the chart from the results")
    parser.add_argument(
        "--legacy-trail", action="store_true", help="the trail search before the fix (figures 'before')"
    )
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    only = {name.strip() for name in args.only.split(";") if name.strip()} or None
    if args.report:
        report()
        return
    if args.child:
        child(args.child, args.repeat, args.label, only, args.legacy_trail)
        return
    for size in args.sizes.split(","):
        if size not in SIZES:
            raise SystemExit(f"unknown size {size}: one of {', '.join(SIZES)}")
        name = database_name(size)
        template = f' TEMPLATE "{database_name(TEMPLATES[size])}"' if size in TEMPLATES else ""
        if database_exists(size) and not args.keep:
            admin_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        if not database_exists(size):
            if template and not database_exists(TEMPLATES[size]):
                raise SystemExit(f"{size} is a copy of {TEMPLATES[size]}: build that first (--keep)")
            admin_sql(f'CREATE DATABASE "{name}"{template}')
        command = [sys.executable, __file__, "--child", size, "--repeat", str(args.repeat), "--label", args.label]
        if args.only:
            command += ["--only", args.only]
        if args.legacy_trail:
            command.append("--legacy-trail")
        try:
            subprocess.run(command, cwd=ROOT, env=child_env(size), check=True)
        finally:
            if not args.keep:
                admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
