"""Quality assurance reads audits (and the register they concern) and signs qualification outcomes;
managers and auditors read the signed outcomes."""

from django.db import migrations

from audits import reference


def grant(apps, schema_editor):
    reference.grant_quality(apps)


def revoke(apps, schema_editor):
    reference.grant_quality(apps, revoke=True)


class Migration(migrations.Migration):
    dependencies = [
        ("audits", "0011_qa_signed_outcomes_sterile_vocabulary"),
        ("accounts", "0008_quality_assurance_role"),
        ("vendors", "0003_role_permissions"),
    ]
    operations = [migrations.RunPython(grant, revoke)]
