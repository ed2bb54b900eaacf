"""Supplier scorecards: the scorecard page of a site with 40 periods, and the register (vendor list) with 2,000
vendors showing their standings: median time and the SQL queries of one request, each against a small case
to show that the query count does not grow.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vendorselect_bench DJANGO_DEBUG=1 \
        .venv/bin/python benchmarks/oversight.py [--vendors 2000] [--periods 40] [--runs 15]

By default it works in a throwaway database (the DATABASE_URL's name + "_oversight_<pid>", created, migrated
and dropped at the end). With --existing, DATABASE_URL must name a database that is migrated already (e.g. a
test database kept by --reuse-db): everything is built inside one transaction that is rolled back at the end.

The site's periods go through the service (oversight.performance.performance_save: checks, lock, scorecard);
the register's 2,000 vendors, sites and one period each are bulk-inserted, then their scorecards computed by
oversight.performance.recompute_all (the path a change of the KPI settings takes).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vendorselect.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vendorselect_bench")

from packets import create_database, drop_database  # noqa: E402


def counts(i: int) -> dict[str, int]:
    """A plausible quarter that varies with i (some periods breach the thresholds)."""
    started = 18 + i % 5
    released = started - int(i % 3 == 0)
    values = {
        "batches_started": started,
        "batches_released": released,
        "batches_right_first_time": released - (i % 4),
        "deviations_minor": i % 6,
        "deviations_major": i % 3 == 0,
        "deviations_critical": i % 17 == 0,
        "oos_results": i % 5 == 0,
        "deliveries_due": 12,
        "deliveries_on_time": 12 - i % 4,
        "capas_due": 4,
        "capas_closed_on_time": 4 - i % 3,
        "change_notifications_due": 2,
        "change_notifications_on_time": 2 - (i % 7 == 0),
        "complaints": i % 4,
    }
    return {name: int(value) for name, value in values.items()}


def user(name: str, role: str):
    from django.contrib.auth.models import Group

    from accounts.models import User

    person = User.objects.create(username=name, first_name=name.title(), last_name="Bench")
    person.groups.add(Group.objects.get(name=role))
    return person


def site_with_periods(qa, periods: int, name: str):
    from oversight import kpis, performance
    from vendors.models import Site, Vendor

    vendor = Vendor.objects.create(name=name, country="IE")
    site = Site.objects.create(vendor=vendor, name="Cork sterile fill", country="IE", quality_regime="cGMP")
    start = kpis.quarter_of(date.today())[0]
    for _ in range(periods):
        start = kpis.quarter_of(start - timedelta(days=1))[0]
    for i in range(periods):
        start, end = kpis.quarter_of(start)
        performance.performance_save(user=qa, site=site, start=start, end=end, **counts(i))
        start = end + timedelta(days=1)
    return site


def register(qa, vendors: int, prefix: str) -> None:
    from oversight import kpis, performance
    from oversight.models_performance import PerformanceRecord
    from vendors.models import Site, Vendor

    made = Vendor.objects.bulk_create(
        [Vendor(name=f"{prefix} {i:05d}", country="DE", status="approved") for i in range(vendors)], batch_size=1000
    )
    sites = Site.objects.bulk_create(
        [Site(vendor=v, name=f"Plant {i:05d}", country="DE", quality_regime="cGMP") for i, v in enumerate(made)],
        batch_size=1000,
    )
    start, end = kpis.quarter_of(kpis.quarter_of(date.today())[0] - timedelta(days=1))
    records = PerformanceRecord.objects.bulk_create(
        [PerformanceRecord(site=s, start=start, end=end, entered_by=qa, **counts(i)) for i, s in enumerate(sites)],
        batch_size=1000,
    )
    performance.recompute_all(records)


def timed(client, url: str, runs: int) -> tuple[float, float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
    return statistics.median(times), p95, len(queries), response.status_code


def report(label: str, figures: tuple[float, float, int, int]) -> None:
    median, p95, queries, status = figures
    print(f"{label:48s} status {status}  median {median * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms  {queries} queries")


def run(args) -> None:
    from django.test import Client

    from accounts.roles import MANAGER, QA
    from oversight import selectors
    from vendors.models import Site

    qa, manager = user("bench-qa", QA), user("bench-manager", MANAGER)
    client = Client()
    client.force_login(manager)

    started = time.perf_counter()
    small = site_with_periods(qa, 8, "Bench small CDMO")
    big = site_with_periods(qa, args.periods, "Bench big CDMO")
    print(
        f"built two sites with 8 and {args.periods} periods through the service in {time.perf_counter() - started:.1f} s"
    )
    report("scorecard page, 8 periods", timed(client, f"/oversight/sites/{small.pk}/scorecard/", args.runs))
    report(f"scorecard page, {args.periods} periods", timed(client, f"/oversight/sites/{big.pk}/scorecard/", args.runs))
    report(f"scorecard PDF, {args.periods} periods", timed(client, f"/oversight/sites/{big.pk}/scorecard.pdf", 3))

    started = time.perf_counter()
    register(qa, 20, "Bench few")
    report("register page 1, ~20 rated vendors", timed(client, "/vendors/", args.runs))
    register(qa, args.vendors - 20, "Bench many")
    print(f"built the register of {args.vendors} rated vendors in {time.perf_counter() - started:.1f} s")
    report(f"register page 1, {args.vendors} rated vendors", timed(client, "/vendors/", args.runs))
    report(f"register last page, {args.vendors} rated vendors", timed(client, "/vendors/?page=9999", args.runs))
    report(f"register search, {args.vendors} rated vendors", timed(client, "/vendors/?q=Plant+0199", args.runs))
    report(
        f"performance list, {args.vendors} rated sites",
        timed(client, "/oversight/performance/?ordering=-score", args.runs),
    )
    ids = list(Site.objects.values_list("pk", flat=True))
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        found = selectors.standing_of(ids)
        times.append(time.perf_counter() - started)
    print(
        f"standing_of({len(ids)} sites): {len(found)} standings, median {statistics.median(times) * 1000:.1f} ms, 1 query"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", type=int, default=2000)
    parser.add_argument("--periods", type=int, default=40)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--existing", action="store_true", help="use the migrated DATABASE_URL; roll back at the end")
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"] if args.existing else create_database(os.environ["DATABASE_URL"], "oversight")
    os.environ["DATABASE_URL"] = url
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import transaction
        from django.test.utils import setup_test_environment

        setup_test_environment()  # the test client's host
        if not args.existing:
            call_command("migrate", verbosity=0)
        with transaction.atomic():
            run(args)
            transaction.set_rollback(True)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.existing:
            drop_database(url)


if __name__ == "__main__":
    main()
