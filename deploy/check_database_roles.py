"""Run as the application's role after `migrate` ran as the owner (CI does, see .ci/run):
`DATABASE_URL=postgres://vendorselect_app@host/db python manage.py shell -c "$(cat deploy/check_database_roles.py)"`.
Exits non-zero unless the database protects its records from this connection."""

import sys

import pgtrigger
from django.db import DatabaseError, connection, transaction

from vendors.models import Vendor

failures = []
with connection.cursor() as cursor:
    cursor.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
    user, superuser = cursor.fetchone()
if superuser:
    failures.append(f"{user} is a superuser")
for statement in (
    "DELETE FROM accounts_signature",
    "UPDATE vendors_vendorevent SET name = 'x'",
    "TRUNCATE scoring_shortlistdecision",
    "ALTER TABLE accounts_signature DISABLE TRIGGER ALL",
):
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
        failures.append(f"allowed: {statement}")
    except DatabaseError:
        pass
with transaction.atomic():
    with pgtrigger.ignore("vendors.Vendor:insert_insert", "vendors.Vendor:update_update"):
        vendor = Vendor.objects.create(name="Role check vendor", country="DE")
        Vendor.objects.filter(pk=vendor.pk).update(description="changed")
    recorded = vendor.events.count()
    transaction.set_rollback(True)
if recorded != 2:
    failures.append(f"with pgtrigger.ignore the trail recorded {recorded} of 2 events")
print(
    f"connected as {user}: " + ("; ".join(failures) if failures else "records protected, trail cannot be switched off")
)
sys.exit(1 if failures else 0)
