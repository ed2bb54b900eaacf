"""The Quality assurance role (accounts.roles.QA): its group. What it may do is granted by the apps
whose records it works on (audits: reading audits and signing qualification outcomes)."""

from django.db import migrations

QA = "Quality assurance"  # accounts.roles.QA, spelled out: a migration keeps the name it was written with


def create_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name=QA)


def remove_role(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=QA).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0007_password_changes_recorded")]
    operations = [migrations.RunPython(create_role, remove_role)]
