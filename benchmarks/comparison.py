"""The comparison page (rfp.comparison) for 10 vendors: median time and query count.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vendorselect_bench DJANGO_DEBUG=1 \
        .venv/bin/python benchmarks/comparison.py [--vendors 10] [--questions 200] [--runs 15]

Works in a throwaway database (the DATABASE_URL's name + "_comparison_<pid>", created, migrated and
dropped at the end). Builds through the services (vendorselect.builders): an evaluation of --vendors
candidates scored and approved, the RFP with a template revision of --questions questions, every vendor's
questionnaire filled (answers and per-batch, cost-plus and fee price lines) and uploaded through the
portal's service, the horizon and a rate, the two-person opening. Then, signed in as the lead with
Django's test Client: one warm-up and --runs GETs of the comparison page, of the API's comparison and of
the XLSX export; median and p95 wall time and the SQL queries of one request. The "Answers" sheet of the
XLSX comes from rfp.answers.answers_matrix (questions x vendors).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vendorselect.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vendorselect_bench")

from packets import create_database, drop_database  # noqa: E402

PASSWORD = "bench-Passw0rd!"


def build(vendors: int, questions: int):
    from django.contrib.auth.models import Group

    from accounts.models import User
    from accounts.roles import EVALUATOR, MANAGER, PROCUREMENT_LEAD
    from rfp import bidding, comparison, rendering, services
    from vendors.models import Site, Vendor
    from vendorselect import builders

    def user(name, role):
        person = User.objects.create(username=name, first_name=name.title(), last_name="Bench", email=f"{name}@x.test")
        person.set_password(PASSWORD)
        person.save()
        person.groups.add(Group.objects.get(name=role))
        return person

    lead, evaluator, manager = user("lead", PROCUREMENT_LEAD), user("panel", EVALUATOR), user("boss", MANAGER)
    candidates_vendors = []
    for i in range(vendors):
        vendor = Vendor.objects.create(name=f"Bench CDMO {i:02d}", country="DE")
        Site.objects.create(vendor=vendor, name=f"Plant {i:02d}", country="DE")
        candidates_vendors.append(vendor)
    evaluation, candidates = builders.reviewed_evaluation(
        lead=lead,
        evaluators=[evaluator],
        vendors=candidates_vendors,
        name="Bench program",
        scores=builders.realistic_scores([2.5 + (i % 5) * 0.5 for i in range(vendors)]),
    )
    shortlist = builders.approved_shortlist(
        evaluation=evaluation, proposer=lead, approvers=[manager], candidates=candidates, password=PASSWORD
    )
    kind = rendering.kind_for(evaluation)
    current = services.current_template(kind)
    criteria = ["Quality systems", "Technology transfer", "Regulatory track record", "Scale flexibility"]
    services.template_revise(
        kind=kind,
        user=lead,
        sections=current.sections,
        questions=[{"criterion": criteria[n % 4], "question": f"Bench question {n + 1}?"} for n in range(questions)],
        note="benchmark",
    )
    rfp = builders.rfp_for(shortlist, lead, co_opener=manager)
    for i, candidate in enumerate(bidding.invitable_candidates(rfp)):
        pricing = {
            "per_batch": [["Drug substance", 400000 + 10000 * i, 3, 5], ["Drug product", 150000, 4, 5]],
            "cost_plus": [["Materials", 900000, 12]],
            "fees": [["Development fee", 300000, 6], ["Technology transfer fee", 120000 + 5000 * i, 4]],
            "pass_through": [["Shipping", 40000]],
        }
        invitation = builders.invited(rfp, lead, candidate)
        builders.sealed_questionnaire(
            invitation, pricing=pricing, model="Per batch", currency="EUR" if i % 2 else "USD"
        )
    comparison.horizon_set(
        rfp=rfp,
        user=lead,
        years=5,
        batches_per_year=4,
        needs_development=True,
        needs_tech_transfer=True,
        base_currency="EUR",
    )
    comparison.rate_add(rfp=rfp, user=lead, currency="USD", rate="0.92", as_of=date.today(), source="bench")
    builders.opened(rfp, password=PASSWORD)
    return rfp, lead


def timed(client, url: str, runs: int) -> tuple[float, float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
    return statistics.median(times), p95, len(queries), response.status_code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", type=int, default=10)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--profile", action="store_true", help="print where the page's time goes (cProfile)")
    args = parser.parse_args()
    url = create_database(os.environ["DATABASE_URL"], "comparison")
    os.environ["DATABASE_URL"] = url
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.test import Client
        from django.test.utils import setup_test_environment

        setup_test_environment()  # locmem e-mail (invitations), allowed test host
        settings.PDF_RENDER_TIMEOUT = 120
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        rfp, lead = build(args.vendors, args.questions)
        print(f"built {args.vendors} vendors x {args.questions} questions in {time.perf_counter() - started:.1f} s")
        client = Client()
        client.force_login(lead)
        for label, path in (
            ("comparison page", f"/rfps/{rfp.pk}/comparison/"),
            ("API comparison", f"/api/v1/rfps/{rfp.pk}/comparison/"),
            ("XLSX export (with answers)", f"/rfps/{rfp.pk}/comparison.xlsx"),
        ):
            median, p95, queries, status = timed(client, path, args.runs)
            if args.profile and label == "comparison page":
                import cProfile
                import pstats

                profiler = cProfile.Profile()
                profiler.runcall(client.get, path)
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
            print(
                f"{label:28s} status {status}  median {median * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms  {queries} queries"
            )
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(url)


if __name__ == "__main__":
    main()
