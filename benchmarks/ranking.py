"""Ranking page and API for a large evaluation: median time and SQL query count.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vendorselect_bench .venv/bin/python benchmarks/ranking.py
    (BENCH_REPEAT=n: requests per median, 7 by default)

Builds (once, idempotently) an evaluation with 500 candidates x 6 criteria x 5 evaluators in the
benchmark database, then times the ranking API, the ranking page and the sensitivity API; then the
same for a program with two steps whose candidates propose three sites each (site-level evidence).
"""

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vendorselect.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vendorselect_bench")

CANDIDATES, EVALUATORS = 500, 5
NAME = f"Benchmark evaluation {CANDIDATES}x{EVALUATORS}"


def build():
    import random
    from decimal import Decimal

    from django.contrib.auth.models import Group

    from accounts.models import User
    from scoring import services
    from scoring.models import Candidate, Evaluation, Score
    from vendors.models import Kind, RegulatoryInspection, Site, Vendor

    evaluation = Evaluation.objects.filter(name=NAME).first()
    if evaluation:
        return evaluation
    lead, _ = User.objects.get_or_create(username="bench-lead")
    lead.groups.add(Group.objects.get(name="Procurement lead"))
    evaluators = []
    for i in range(EVALUATORS):
        user, _ = User.objects.get_or_create(username=f"bench-evaluator-{i}")
        user.groups.add(Group.objects.get(name="Evaluator"))
        evaluators.append(user)
    vendors = Vendor.objects.bulk_create(
        [Vendor(name=f"Bench vendor {i:04d}", country="US") for i in range(CANDIDATES)], ignore_conflicts=True
    )
    vendors = list(Vendor.objects.filter(name__startswith="Bench vendor ").order_by("name"))
    cdmo = Kind.objects.get(code="CDMO")
    Vendor.kinds.through.objects.bulk_create(
        [Vendor.kinds.through(vendor_id=v.pk, kind_id=cdmo.pk) for v in vendors], ignore_conflicts=True
    )
    rng = random.Random(1)
    sites = Site.objects.bulk_create(
        [
            Site(
                vendor=v,
                name="Main plant",
                country="US",
                quality_regime="cGMP",
                scale_unit="L",
                scale_min=Decimal(rng.choice([10, 50, 100])),
                scale_max=Decimal(rng.choice([500, 2000, 8000])),
            )
            for v in vendors
        ]
    )
    import datetime

    RegulatoryInspection.objects.bulk_create(
        [
            RegulatoryInspection(
                site=s,
                agency="FDA",
                end_date=datetime.date(2024, 1, 1) - datetime.timedelta(days=rng.randint(0, 2000)),
                classification=rng.choice(["NAI", "NAI", "VAI", "OAI"]),
            )
            for s in sites
            for _ in range(3)
        ]
    )
    evaluation = services.evaluation_create(
        lead=lead,
        name=NAME,
        evaluators=evaluators,
        scale_unit="L",
        scale_min=Decimal(100),
        scale_max=Decimal(400),
        launch_scale=Decimal(4000),
    )
    Candidate.objects.bulk_create([Candidate(evaluation=evaluation, vendor=v, added_by=lead) for v in vendors])
    evaluation = services.evaluation_transition(evaluation=evaluation, user=lead, action="start_scoring")
    judged = list(evaluation.criteria.filter(evidence=""))
    Score.objects.bulk_create(
        [
            Score(candidate=c, criterion=k, evaluator=e, value=rng.randint(1, 5))
            for c in evaluation.candidates.all()
            for k in judged
            for e in evaluators
        ]
    )
    return evaluation


SITES_NAME = f"Benchmark program with steps {CANDIDATES}x{EVALUATORS}, 3 proposed sites"


def build_with_sites(base):
    """The same candidates and scores, for a program with a drug substance step (scale) and a drug
    product step; every vendor proposes two sites for the first and one for the second."""
    import datetime
    import random
    from decimal import Decimal

    from scoring import program, services
    from scoring.models import Candidate, Evaluation, ProposedSite, Score
    from vendors.models import RegulatoryInspection, Service, Site

    evaluation = Evaluation.objects.filter(name=SITES_NAME).first()
    if evaluation:
        return evaluation
    rng = random.Random(2)
    vendors = [c.vendor for c in base.candidates.select_related("vendor")]
    Site.objects.bulk_create(
        [
            Site(
                vendor=v,
                name=name,
                country="US",
                quality_regime="cGMP",
                scale_unit="L",
                scale_min=Decimal(50),
                scale_max=Decimal(rng.choice([500, 3000])),
            )
            for v in vendors
            for name in ("Second plant", "Fill plant")
        ],
        ignore_conflicts=True,
    )
    sites = list(Site.objects.filter(vendor__in=vendors))
    extra = [s for s in sites if s.name in ("Second plant", "Fill plant")]
    ds, dp = Service.objects.get(code="api-manufacturing"), Service.objects.get(code="fill-finish")
    Site.capabilities.through.objects.bulk_create(
        [Site.capabilities.through(site_id=s.pk, service_id=(dp if s.name == "Fill plant" else ds).pk) for s in sites],
        ignore_conflicts=True,
    )
    RegulatoryInspection.objects.bulk_create(
        [
            RegulatoryInspection(
                site=s,
                agency="FDA",
                classification=rng.choice(["NAI", "VAI", "OAI"]),
                end_date=datetime.date(2025, 1, 1),
            )
            for s in extra
        ]
    )
    evaluation = services.evaluation_create(lead=base.lead, name=SITES_NAME, evaluators=list(base.evaluators.all()))
    first = program.step_add(
        evaluation=evaluation,
        user=base.lead,
        step="drug_substance",
        services=["api-manufacturing"],
        scale_unit="L",
        scale_min="100",
        scale_max="400",
        launch_scale="2000",
    )
    second = program.step_add(evaluation=evaluation, user=base.lead, step="drug_product", services=["fill-finish"])
    candidates = Candidate.objects.bulk_create(
        [Candidate(evaluation=evaluation, vendor=v, added_by=base.lead) for v in vendors]
    )
    by_vendor = {}
    for s in sites:
        by_vendor.setdefault(s.vendor_id, []).append(s)
    ProposedSite.objects.bulk_create(
        [
            ProposedSite(candidate=c, step=second if s.name == "Fill plant" else first, site=s)
            for c in candidates
            for s in by_vendor[c.vendor_id]
        ]
    )
    evaluation = services.evaluation_transition(evaluation=evaluation, user=base.lead, action="start_scoring")
    judged = list(evaluation.criteria.filter(evidence=""))
    evaluators = list(evaluation.evaluators.all())
    Score.objects.bulk_create(
        [
            Score(candidate=c, criterion=k, evaluator=e, value=rng.randint(1, 5))
            for c in candidates
            for k in judged
            for e in evaluators
        ]
    )
    return evaluation


def measure(client, url, repeat=7):
    """Median wall time and CPU time of this process (the server's share of the work; what the
    database does is in the wall time only) in ms, and the SQL query count."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, cpu, queries = [], [], 0
    client.get(url)  # warm-up: the first request also compiles templates and fills caches
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        assert response.status_code == 200, response.status_code
        queries = len(captured)
    return statistics.median(times) * 1000, statistics.median(cpu) * 1000, queries


def split(evaluation, viewer, repeat=7) -> str:
    """Where the ranking's time goes: loading, computing, serializing (medians in ms)."""
    from scoring import selectors
    from scoring.ranking_compute import compute_ranking
    from scoring.serializers import RankingSerializer

    parts: dict[str, list[float]] = {"load": [], "compute": [], "serialize": []}
    for _ in range(repeat):
        started = time.perf_counter()
        inputs = selectors.load_ranking_inputs(evaluation, viewer)
        loaded = time.perf_counter()
        result = compute_ranking(inputs)
        computed = time.perf_counter()
        _ = RankingSerializer(result).data
        parts["load"].append(loaded - started)
        parts["compute"].append(computed - loaded)
        parts["serialize"].append(time.perf_counter() - computed)
    return ", ".join(f"{name} {statistics.median(values) * 1000:.1f} ms" for name, values in parts.items())


def main():
    import django

    from benchmarks.import_vendors import ensure_database

    ensure_database(os.environ["DATABASE_URL"])
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from accounts.models import User

    call_command("migrate", verbosity=0)
    evaluation = build()
    with_sites = build_with_sites(evaluation)
    with connection.cursor() as cursor:
        # Planner statistics, as autovacuum keeps them in production: without them, the bulk-inserted
        # tables look empty and the candidates' sites are joined row by row.
        cursor.execute("ANALYZE")
    lead = User.objects.get(username="bench-lead")
    client = Client()
    client.force_login(lead)
    repeat = int(os.environ.get("BENCH_REPEAT", "7"))
    print(f"medians of {repeat} requests after a warm-up; CPU = this process (Django), wall includes PostgreSQL")
    for title, chosen, pages in (
        (f"evaluation: {CANDIDATES} candidates x 6 criteria x {EVALUATORS} evaluators", evaluation, True),
        (f"program with 2 steps, 3 proposed sites per candidate ({CANDIDATES} x 6 x {EVALUATORS})", with_sites, False),
    ):
        print(title)
        urls = [
            ("ranking API", f"/api/v1/evaluations/{chosen.pk}/ranking/"),
            ("ranking page", f"/evaluations/{chosen.pk}/ranking/"),
        ]
        if pages:
            urls += [
                ("sensitivity API (10,000 samples)", f"/api/v1/evaluations/{chosen.pk}/sensitivity/?top=20"),
                ("sensitivity page", f"/evaluations/{chosen.pk}/sensitivity/"),
            ]
        for label, url in urls:
            wall, cpu, queries = measure(client, url, repeat=repeat)
            print(f"  {label:<34} wall {wall:8.1f} ms   CPU {cpu:8.1f} ms   {queries} queries")
        print(f"  {'ranking, in the process':<34} {split(chosen, lead, repeat)}")


if __name__ == "__main__":
    main()
