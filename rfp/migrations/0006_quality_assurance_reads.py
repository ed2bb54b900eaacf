from django.db import migrations

from rfp import reference


def grant(apps, schema_editor):
    reference.grant_quality(apps)


def revoke(apps, schema_editor):
    reference.grant_quality(apps, revoke=True)


class Migration(migrations.Migration):
    dependencies = [("rfp", "0005_outbox_moved_to_core"), ("accounts", "0008_quality_assurance_role")]
    operations = [migrations.RunPython(grant, revoke)]
