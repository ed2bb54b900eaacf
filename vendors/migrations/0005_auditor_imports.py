from django.db import migrations

from accounts.roles import grant_permissions

# Auditors import regulatory inspection data (the FDA Data Dashboard export).
GRANTS = {"Auditor": ["vendors.add_importjob", "vendors.view_importjob"]}


def grant(apps, schema_editor):
    grant_permissions(apps, GRANTS)


def revoke(apps, schema_editor):
    grant_permissions(apps, GRANTS, revoke=True)


class Migration(migrations.Migration):
    dependencies = [("vendors", "0004_import_target_fda")]
    operations = [migrations.RunPython(grant, revoke)]
