"""The upgrade to site-level evidence carries today's data over: a throwaway database migrated to the
schema before it, filled through that schema's historical models, then migrated to the latest one.

Forward only, in `manage.py` subprocesses on their own database: unapplying migrations re-renders
the whole model state at every step (minutes), and the data migrations write to the default database.
"""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
# The last migrations before program steps, regulatory records per site and QA's signed outcomes.
BEFORE = [("vendors", "0010_import_through_outbox"), ("scoring", "0010_regulated_foreign_keys_protect")]

FILL = """
import json
from datetime import date, timedelta
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
old = MigrationExecutor(connection)._create_project_state(with_applied_migrations=True).apps
User = old.get_model("accounts", "User")
lead = User.objects.create(username="upgrade-lead")
vendor = old.get_model("vendors", "Vendor").objects.create(name="Upgrade Bio", country="US")
site = old.get_model("vendors", "Site").objects.create(
    vendor=vendor, name="Upgrade plant", country="US", quality_regime="cGMP", qualification="approved_with_conditions"
)
Inspection = old.get_model("vendors", "RegulatoryInspection")
fda = Inspection.objects.create(site=site, agency="FDA", end_date=date.today() - timedelta(days=300),
                                classification="VAI", form_483_observations=4)
ema = Inspection.objects.create(site=site, agency="EMA", end_date=date.today() - timedelta(days=900),
                                classification="NAI", form_483_observations=0)
evaluation = old.get_model("scoring", "Evaluation").objects.create(name="Before the upgrade", lead=lead)
old.get_model("scoring", "KnockoutRule").objects.create(evaluation=evaluation, rule="no_red_flags", years=5)
old.get_model("scoring", "Candidate").objects.create(evaluation=evaluation, vendor=vendor, added_by=lead)
print(json.dumps({"evaluation": evaluation.pk, "site": site.pk, "fda": fda.pk, "ema": ema.pk}))
"""

# The old path: the squashed migrations (0001_squashed_...) replace them for a fresh database, so the
# old schema is reached with a loader that does not apply replacements, as an existing deployment has it.
MIGRATE_OLD = """
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
executor = MigrationExecutor(connection)
executor.loader = MigrationLoader(connection, replace_migrations=False)
executor.migrate({targets!r})
"""

READ = """
import json
from scoring.models import KnockoutRule
from vendors.models import RegulatoryInspection, SiteQualification
ids = json.loads({ids!r})
gates = {{g.rule: [g.enabled, g.years, g.off_reason] for g in KnockoutRule.objects.filter(evaluation_id=ids["evaluation"])}}
entries = [[e.activity_id, e.status] for e in SiteQualification.objects.filter(site_id=ids["site"])]
counts = {{k: RegulatoryInspection.objects.get(pk=ids[k]).form_483_observations for k in ("fda", "ema")}}
print(json.dumps({{"gates": gates, "entries": entries, "counts": counts}}))
"""


def _manage(url: str, *args: str, install_triggers: bool = True) -> str:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_DEBUG": "1"}
    env["PGTRIGGER_INSTALL_ON_MIGRATE"] = "1" if install_triggers else "0"  # not on an older schema's tables
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the project's settings, not the tests'
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture
def scratch_database():
    """A database of its own on the test server, dropped afterwards."""
    db = settings.DATABASES["default"]
    name = f"vs_upgrade_{uuid.uuid4().hex[:8]}"
    host = quote(db["HOST"] or "127.0.0.1", safe="")  # a socket folder of the embedded server, or a host
    server = f"postgresql://{db['USER']}@{host}:{db['PORT'] or 5432}"
    with psycopg.connect(f"{server}/postgres", autocommit=True, password=db.get("PASSWORD") or None) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True, password=db.get("PASSWORD") or None) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.upgrade
def test_existing_evaluations_keep_their_gates_and_inspections_keep_their_values(scratch_database):
    _manage(scratch_database, "shell", "-c", MIGRATE_OLD.format(targets=BEFORE), install_triggers=False)
    ids = _manage(scratch_database, "shell", "-c", FILL).strip().splitlines()[-1]
    for app, _migration in BEFORE:  # forward to the latest of the two apps (and what they depend on)
        _manage(scratch_database, "migrate", app, "-v0", install_triggers=False)
    after = json.loads(_manage(scratch_database, "shell", "-c", READ.format(ids=ids)).strip().splitlines()[-1])

    gates = after["gates"]
    assert gates["no_red_flags"][:2] == [True, 5]  # what it had, unchanged
    for rule in ("all_services", "cgmp_dosage_form", "scale_range", "no_open_critical", "not_disqualified"):
        enabled, _years, reason = gates[rule]
        assert not enabled and "carried over unchanged" in reason, rule  # off as before, and it says so
    assert gates["company_red_flags"] == [False, 2, ""]
    assert after["counts"] == {"fda": 4, "ema": None}  # no Form 483 outside FDA
    assert after["entries"] == [[None, "approved_with_conditions"]]  # the site-wide approved-supplier entry
