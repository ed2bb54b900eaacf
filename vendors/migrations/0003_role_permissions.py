from django.db import migrations

from vendors import reference


def grant(apps, schema_editor):
    reference.grant_roles(apps)


def revoke(apps, schema_editor):
    reference.grant_roles(apps, revoke=True)


class Migration(migrations.Migration):
    dependencies = [("vendors", "0002_vocabularies"), ("accounts", "0002_roles")]
    operations = [migrations.RunPython(grant, revoke)]
