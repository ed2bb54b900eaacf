"""Data for the regulatory records: Form 483 counts are an FDA record (null elsewhere), every site's
qualification outcome becomes its site-wide row on the approved-supplier list, and the roles get
the new records' permissions (as for inspections: auditors keep them, every role reads them)."""

from django.db import migrations

from vendors import reference

OUTCOME_TO_STATUS = {
    "approved": "approved",
    "approved_with_conditions": "approved_with_conditions",
    "not_approved": "disqualified",
}


def forward(apps, schema_editor):
    RegulatoryInspection = apps.get_model("vendors", "RegulatoryInspection")
    Site = apps.get_model("vendors", "Site")
    SiteQualification = apps.get_model("vendors", "SiteQualification")
    RegulatoryInspection.objects.exclude(agency="FDA").update(form_483_observations=None)
    rows = []
    for site in Site.objects.exclude(qualification="").iterator():
        status = OUTCOME_TO_STATUS.get(site.qualification)
        if status is None:
            continue
        rows.append(
            SiteQualification(
                site=site,
                activity=None,
                status=status,
                decided_on=site.updated_at.date(),
                requalification_due=site.requalification_due,
                source="Site qualification outcome (before the per-activity list)",
            )
        )
    SiteQualification.objects.bulk_create(rows, ignore_conflicts=True)
    reference.grant_regulatory_records(apps)


def backward(apps, schema_editor):
    RegulatoryInspection = apps.get_model("vendors", "RegulatoryInspection")
    RegulatoryInspection.objects.filter(form_483_observations=None).update(form_483_observations=0)
    reference.grant_regulatory_records(apps, revoke=True)


class Migration(migrations.Migration):
    dependencies = [("vendors", "0011_regulatory_records"), ("accounts", "0008_quality_assurance_role")]
    operations = [migrations.RunPython(forward, backward)]
