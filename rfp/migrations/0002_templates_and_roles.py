from django.db import migrations

from accounts.roles import grant_permissions
from rfp.defaults import template_for

GRANTS = {
    "Procurement lead": [
        "rfp.add_rfp",
        "rfp.change_rfp",
        "rfp.view_rfp",
        "rfp.add_rfptemplate",
        "rfp.view_rfptemplate",
    ],
    "Evaluator": ["rfp.view_rfp"],
    "Manager": ["rfp.view_rfp", "rfp.view_rfptemplate"],
}


def seed(apps, schema_editor):
    grant_permissions(apps, GRANTS)
    RfpTemplate = apps.get_model("rfp", "RfpTemplate")
    for kind in ("CRO", "CMO", "CDMO", "INTEGRATED"):
        if not RfpTemplate.objects.filter(kind=kind).exists():
            RfpTemplate.objects.create(
                kind=kind, version=1, change_note="Seeded from the domain brief.", **template_for(kind)
            )


def unseed(apps, schema_editor):
    grant_permissions(apps, GRANTS, revoke=True)


class Migration(migrations.Migration):
    dependencies = [("rfp", "0001_initial"), ("accounts", "0005_trail_grant")]
    operations = [migrations.RunPython(seed, unseed)]
