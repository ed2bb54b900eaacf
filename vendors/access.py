"""Who may see and do what in the register. Register records are read by every role; writes follow
the role's model permissions (granted by migrations); imports follow what each kind of file writes."""

from django.db.models import QuerySet

from vendors.models import ImportJob

# What each kind of import writes, hence the permission it needs.
IMPORT_PERMISSIONS = {
    ImportJob.Target.VENDORS: "vendors.add_vendor",
    ImportJob.Target.SITES: "vendors.add_site",
    ImportJob.Target.FDA_INSPECTIONS: "vendors.add_regulatoryinspection",
}


def importable_targets(user) -> list[str]:
    return [target for target, perm in IMPORT_PERMISSIONS.items() if user.has_perm(perm)]


def visible_import_jobs(user) -> QuerySet[ImportJob]:
    """An import job is seen and confirmed by those who could have imported that kind of file:
    an auditor who imports FDA data cannot look at, or confirm, a vendor import."""
    return ImportJob.objects.filter(target__in=importable_targets(user))
