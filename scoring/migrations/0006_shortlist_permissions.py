from django.db import migrations

from scoring import reference


def grant(apps, schema_editor):
    reference.grant_shortlists(apps)


def revoke(apps, schema_editor):
    reference.grant_shortlists(apps, revoke=True)


class Migration(migrations.Migration):
    dependencies = [("scoring", "0005_shortlists_audit_trail"), ("accounts", "0004_audit_trail_notifications")]
    operations = [migrations.RunPython(grant, revoke)]
