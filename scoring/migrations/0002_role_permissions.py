from django.db import migrations

from accounts.roles import grant_permissions

GRANTS = {
    "Procurement lead": ["scoring.add_evaluation", "scoring.change_evaluation", "scoring.view_evaluation"],
    "Evaluator": ["scoring.view_evaluation"],
    "Manager": ["scoring.view_evaluation"],
}


def grant(apps, schema_editor):
    grant_permissions(apps, GRANTS)


def revoke(apps, schema_editor):
    grant_permissions(apps, GRANTS, revoke=True)


class Migration(migrations.Migration):
    dependencies = [("scoring", "0001_initial"), ("accounts", "0002_roles")]
    operations = [migrations.RunPython(grant, revoke)]
