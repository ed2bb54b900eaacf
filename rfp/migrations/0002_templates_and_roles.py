from django.db import migrations

from rfp import reference


def seed(apps, schema_editor):
    reference.grant_roles(apps)
    reference.seed_templates(apps)


def unseed(apps, schema_editor):
    reference.grant_roles(apps, revoke=True)


class Migration(migrations.Migration):
    dependencies = [("rfp", "0001_initial"), ("accounts", "0005_trail_grant")]
    operations = [migrations.RunPython(seed, unseed)]
