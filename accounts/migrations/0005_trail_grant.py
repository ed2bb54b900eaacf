from django.db import migrations

from accounts.roles import grant_permissions

# QA reads the whole trail, evaluations included, so by default only managers (who see every
# evaluation); an administrator may give the permission to a QA group.
GRANTS = {"Manager": ["accounts.view_audit_trail"]}


def grant(apps, schema_editor):
    grant_permissions(apps, GRANTS)


def revoke(apps, schema_editor):
    grant_permissions(apps, GRANTS, revoke=True)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_audit_trail_notifications")]
    operations = [migrations.RunPython(grant, revoke)]
