"""Import N vendors from a CSV file into PostgreSQL and print how long each step takes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vendorselect_bench \
        .venv/bin/python benchmarks/import_vendors.py --rows 10000

The database is created if missing and migrated; the vendors it creates are removed at the end.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vendorselect.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/vendorselect_bench")


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def make_csv(rows: int) -> bytes:
    lines = ["name,legal_name,kinds,country,website,status,services,modalities,dosage_forms,phases"]
    kinds = ["CRO", "CMO", "CDMO", "CDMO;CRO"]
    countries = ["US", "DE", "IN", "CN", "GB", "FR", "JP", "CH", "IE", "KR"]
    services = ["process-development;scale-up", "api-manufacturing;stability-testing", "clinical-monitoring"]
    for i in range(rows):
        lines.append(
            f"Benchmark Vendor {i:06d},Benchmark Vendor {i:06d} Ltd,{kinds[i % 4]},{countries[i % 10]},"
            f"https://v{i}.example,prospect,{services[i % 3]},Small molecule,Oral solid,Phase I;Phase II"
        )
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    if args.rows > 50_000:
        os.environ["IMPORT_MAX_ROWS"] = str(args.rows)
    ensure_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from vendors import importing
    from vendors.models import Vendor

    call_command("migrate", verbosity=0)
    Vendor.objects.filter(name__startswith="Benchmark Vendor").delete()
    data = make_csv(args.rows)
    print(f"rows: {args.rows:,}  file: {len(data) / 1e6:.1f} MB  database: {connection.vendor}")

    started = time.perf_counter()
    columns, body = importing.read_table(data, "bench.csv")
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    result = importing.check_vendors(columns, body)
    check_s = time.perf_counter() - started
    assert not result.errors, result.errors[:3]
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        counts = importing.apply_vendors(result)
        apply_s = time.perf_counter() - started
    total = read_s + check_s + apply_s
    print(
        f"read: {read_s:.2f} s  check: {check_s:.2f} s  write: {apply_s:.2f} s  total: {total:.2f} s "
        f"({args.rows / total:,.0f} rows/s)  write queries: {len(queries)}  {counts}"
    )

    started = time.perf_counter()
    columns, body = importing.read_table(data, "bench.csv")
    again = importing.check_vendors(columns, body)
    print(f"re-import check (idempotent): {time.perf_counter() - started:.2f} s  {again.counts}")
    Vendor.objects.filter(name__startswith="Benchmark Vendor").delete()


if __name__ == "__main__":
    main()
