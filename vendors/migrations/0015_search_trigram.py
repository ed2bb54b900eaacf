"""Trigram indexes for the register's search (vendors.filters.VendorFilter.search), so that a search does not
scan every vendor: `icontains` is `UPPER(column::text) LIKE UPPER(...)` on PostgreSQL, which a GIN index of
pg_trgm on the same expression serves. In SQL: Django's OpClass around a function is rendered with
parentheses PostgreSQL refuses in a GIN index.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = {
    "vendor_name_trgm": ("vendors_vendor", "name"),
    "vendor_legal_name_trgm": ("vendors_vendor", "legal_name"),
    "vendor_description_trgm": ("vendors_vendor", "description"),
    "site_name_trgm": ("vendors_site", "name"),
}


class Migration(migrations.Migration):
    dependencies = [("vendors", "0014_site_selected")]

    operations = [
        TrigramExtension(),  # pg_trgm is trusted (PostgreSQL 13+): the database's owner may create it
        *(
            migrations.RunSQL(
                f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin ((UPPER("{column}"::text)) gin_trgm_ops)',
                f'DROP INDEX IF EXISTS "{name}"',
            )
            for name, (table, column) in INDEXES.items()
        ),
    ]
