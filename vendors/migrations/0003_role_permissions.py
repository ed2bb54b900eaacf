from django.db import migrations

from accounts.roles import grant_permissions

VIEW_ALL = [
    "vendors.view_vendor",
    "vendors.view_site",
    "vendors.view_contact",
    "vendors.view_regulatoryinspection",
]
VOCABULARY = ["kind", "service", "modality", "dosageform", "phase"]

GRANTS = {
    # Procurement keeps the register: vendors, contacts, sites, and file imports.
    "Procurement lead": [
        *VIEW_ALL,
        "vendors.add_vendor",
        "vendors.change_vendor",
        "vendors.add_contact",
        "vendors.change_contact",
        "vendors.delete_contact",
        "vendors.add_site",
        "vendors.change_site",
        "vendors.add_importjob",
        "vendors.view_importjob",
    ],
    # Auditors keep the inspection record and the site facts it hangs on (FEI numbers).
    "Auditor": [
        *VIEW_ALL,
        "vendors.add_site",
        "vendors.change_site",
        "vendors.add_regulatoryinspection",
        "vendors.change_regulatoryinspection",
    ],
    "Evaluator": VIEW_ALL,
    "Manager": VIEW_ALL,
    # Admins look after the controlled vocabularies, not business records.
    "Admin": VIEW_ALL + [f"vendors.{action}_{model}" for model in VOCABULARY for action in ("add", "change", "view")],
}


def grant(apps, schema_editor):
    grant_permissions(apps, GRANTS)


def revoke(apps, schema_editor):
    grant_permissions(apps, GRANTS, revoke=True)


class Migration(migrations.Migration):
    dependencies = [("vendors", "0002_vocabularies"), ("accounts", "0002_roles")]
    operations = [migrations.RunPython(grant, revoke)]
