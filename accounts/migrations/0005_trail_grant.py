from django.db import migrations

from accounts import reference


def grant(apps, schema_editor):
    reference.grant_trail(apps)


def revoke(apps, schema_editor):
    reference.grant_trail(apps, revoke=True)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_audit_trail_notifications")]
    operations = [migrations.RunPython(grant, revoke)]
