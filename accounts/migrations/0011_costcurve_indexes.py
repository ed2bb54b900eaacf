"""Indexes for QA's trail search (core.trail.Search), so that its cost does not grow with the trail.

On every event table of the app: (pgh_created_at, pgh_id), read backwards for the newest events first
and for a date range; and the context's user with the same order, for the search by user. Plain SQL:
the event models are pghistory's, generated from the tracked models (no Meta of ours to declare them in).
"""

from django.db import migrations

TABLES = [
    "accounts_refusedattemptevent",
    "accounts_signatureevent",
    "accounts_userevent",
    "accounts_usergroupsevent",
    "accounts_useruserpermissionsevent",
]


def _create(table: str) -> str:
    return (
        f'CREATE INDEX IF NOT EXISTS "{table}_pgh_at_idx" ON "{table}" (pgh_created_at, pgh_id); '
        f'CREATE INDEX IF NOT EXISTS "{table}_pgh_user_idx" ON "{table}" ((pgh_context -> \'user\'), pgh_created_at, pgh_id);'
    )


def _drop(table: str) -> str:
    return f'DROP INDEX IF EXISTS "{table}_pgh_at_idx"; DROP INDEX IF EXISTS "{table}_pgh_user_idx";'


class Migration(migrations.Migration):
    dependencies = [("accounts", "0010_signature_meaning_opened")]

    operations = [migrations.RunSQL(_create(table), reverse_sql=_drop(table)) for table in TABLES]
