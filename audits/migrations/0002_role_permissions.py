from django.db import migrations

from accounts.roles import grant_permissions

VIEW = ["audits.view_audit", "audits.view_finding", "audits.view_capa"]
GRANTS = {
    "Auditor": [
        *VIEW,
        "audits.add_audit",
        "audits.change_audit",
        "audits.add_finding",
        "audits.change_finding",
        "audits.add_capa",
        "audits.change_capa",
    ],
    "Procurement lead": VIEW,
    "Manager": VIEW,
    "Evaluator": VIEW,
}


def grant(apps, schema_editor):
    grant_permissions(apps, GRANTS)


def revoke(apps, schema_editor):
    grant_permissions(apps, GRANTS, revoke=True)


class Migration(migrations.Migration):
    dependencies = [("audits", "0001_initial"), ("accounts", "0002_roles")]
    operations = [migrations.RunPython(grant, revoke)]
