from django.db import migrations

from accounts import reference


def create_roles(apps, schema_editor):
    reference.create_roles(apps)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
