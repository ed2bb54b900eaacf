from django.db import migrations

from accounts.roles import grant_permissions

GRANTS = {
    "Procurement lead": ["scoring.add_shortlist", "scoring.view_shortlist"],
    "Evaluator": ["scoring.view_shortlist"],
    "Manager": ["scoring.view_shortlist", "scoring.decide_shortlist"],
}


def grant(apps, schema_editor):
    grant_permissions(apps, GRANTS)


def revoke(apps, schema_editor):
    grant_permissions(apps, GRANTS, revoke=True)


class Migration(migrations.Migration):
    dependencies = [("scoring", "0005_shortlists_audit_trail"), ("accounts", "0004_audit_trail_notifications")]
    operations = [migrations.RunPython(grant, revoke)]
