from django.db import migrations

from accounts.roles import ALL_ROLES, grant_permissions


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for role in ALL_ROLES:
        Group.objects.get_or_create(name=role)
    # Admins run users and roles; business records stay with the business roles.
    grant_permissions(
        apps,
        {
            "Admin": [
                "accounts.add_user",
                "accounts.change_user",
                "accounts.view_user",
                "auth.view_group",
                "auth.change_group",
            ]
        },
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
