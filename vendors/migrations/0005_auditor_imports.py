from django.db import migrations

from vendors import reference


def grant(apps, schema_editor):
    reference.grant_auditor_imports(apps)


def revoke(apps, schema_editor):
    reference.grant_auditor_imports(apps, revoke=True)


class Migration(migrations.Migration):
    dependencies = [("vendors", "0004_import_target_fda")]
    operations = [migrations.RunPython(grant, revoke)]
