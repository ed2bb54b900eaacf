"""Indexes for QA's trail search (core.trail.Search), so that its cost does not grow with the trail.

On every event table of the app: (pgh_created_at, pgh_id), read backwards for the newest events first
and for a date range; and the context's user with the same order, for the search by user. Plain SQL:
the event models are pghistory's, generated from the tracked models (no Meta of ours to declare them in).

And the register's order, by vendor name (the list and the API sort by it; with 200,000 vendors a sort of
the whole table for each page).
"""

from django.db import migrations

TABLES = [
    "vendors_contactevent",
    "vendors_gmpcertificateevent",
    "vendors_importalertevent",
    "vendors_regulatoryinspectionevent",
    "vendors_sitecapabilitiesevent",
    "vendors_siteevent",
    "vendors_sitequalificationevent",
    "vendors_vendordosageformsevent",
    "vendors_vendorevent",
    "vendors_vendorkindsevent",
    "vendors_vendormodalitiesevent",
    "vendors_vendorphasesevent",
    "vendors_vendorservicesevent",
    "vendors_warningletterevent",
]


def _create(table: str) -> str:
    return (
        f'CREATE INDEX IF NOT EXISTS "{table}_pgh_at_idx" ON "{table}" (pgh_created_at, pgh_id); '
        f'CREATE INDEX IF NOT EXISTS "{table}_pgh_user_idx" ON "{table}" ((pgh_context -> \'user\'), pgh_created_at, pgh_id);'
    )


def _drop(table: str) -> str:
    return f'DROP INDEX IF EXISTS "{table}_pgh_at_idx"; DROP INDEX IF EXISTS "{table}_pgh_user_idx";'


class Migration(migrations.Migration):
    dependencies = [("vendors", "0012_regulatory_records_data")]

    operations = [
        *(migrations.RunSQL(_create(table), reverse_sql=_drop(table)) for table in TABLES),
        migrations.RunSQL(
            'CREATE INDEX IF NOT EXISTS "vendors_vendor_name_idx" ON "vendors_vendor" (name, id);',
            reverse_sql='DROP INDEX IF EXISTS "vendors_vendor_name_idx";',
        ),
    ]
