from django.db import migrations

from audits import reference


def grant(apps, schema_editor):
    reference.grant_roles(apps)


def revoke(apps, schema_editor):
    reference.grant_roles(apps, revoke=True)


class Migration(migrations.Migration):
    dependencies = [("audits", "0001_initial"), ("accounts", "0002_roles")]
    operations = [migrations.RunPython(grant, revoke)]
