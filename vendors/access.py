"""Who may see and do what in the register. Register records are read by every role; writes follow
the role's model permissions (granted by migrations); imports follow what each kind of file writes."""

from django.db.models import QuerySet

from accounts import roles
from vendors.models import ImportJob

# What each kind of import writes, hence the permission it needs.
IMPORT_PERMISSIONS = {
    ImportJob.Target.VENDORS: "vendors.add_vendor",
    ImportJob.Target.SITES: "vendors.add_site",
    ImportJob.Target.FDA_INSPECTIONS: "vendors.add_regulatoryinspection",
    ImportJob.Target.WARNING_LETTERS: "vendors.add_warningletter",
    ImportJob.Target.IMPORT_ALERTS: "vendors.add_importalert",
    ImportJob.Target.GMP_CERTIFICATES: "vendors.add_gmpcertificate",
    ImportJob.Target.SITE_QUALIFICATIONS: "vendors.add_sitequalification",
}


def importable_targets(user) -> list[str]:
    return [target for target, perm in IMPORT_PERMISSIONS.items() if user.has_perm(perm)]


def visible_import_jobs(user) -> QuerySet[ImportJob]:
    """An import job is seen and confirmed by those who could have imported that kind of file:
    an auditor who imports FDA data cannot look at, or confirm, a vendor import."""
    return ImportJob.objects.filter(target__in=importable_targets(user))


# The approved-supplier list per site: the QA role where it exists, else those the migrations
# grant the qualification permission (auditors and managers).
QUALIFICATION_PERMISSION = "vendors.change_sitequalification"


def can_record_qualification(user) -> bool:
    if not user or not user.is_authenticated:
        return False
    qa = getattr(roles, "QA", None)
    return user.has_perm(QUALIFICATION_PERMISSION) or bool(qa and roles.has_role(user, qa))


# Warning letters, import alerts and GMP certificates are kept as the inspections are (auditors).
RECORD_PERMISSIONS = {
    "warningletter": ("vendors.add_warningletter", "vendors.change_warningletter"),
    "importalert": ("vendors.add_importalert", "vendors.change_importalert"),
    "gmpcertificate": ("vendors.add_gmpcertificate", "vendors.change_gmpcertificate"),
    "regulatoryinspection": ("vendors.add_regulatoryinspection", "vendors.change_regulatoryinspection"),
}


def can_keep(user, model_name: str, *, new: bool = True) -> bool:
    add, change = RECORD_PERMISSIONS[model_name]
    return bool(user and user.is_authenticated and user.has_perm(add if new else change))
