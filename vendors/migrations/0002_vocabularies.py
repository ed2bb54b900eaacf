"""Controlled vocabularies from the domain brief (vendors.reference). Admins may extend them later."""

from django.db import migrations

from vendors import reference


def seed(apps, schema_editor):
    reference.load_vocabularies(apps)


class Migration(migrations.Migration):
    dependencies = [("vendors", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
