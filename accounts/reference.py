"""Reference data of accounts: the role groups, what admins may do, who reads the audit trail.

Plain functions of an app registry (`apps`: a migration's historical registry, or django.apps.apps),
idempotent: the migrations that introduced each piece call them, and so does seed_demo (`load`), to
put the reference data back into a database that was flushed after migrating.
"""

from accounts.roles import ALL_ROLES, grant_permissions

# Admins run users and roles; business records stay with the business roles.
ADMIN_GRANTS = {
    "Admin": [
        "accounts.add_user",
        "accounts.change_user",
        "accounts.view_user",
        "auth.view_group",
        "auth.change_group",
    ]
}

# QA reads the whole trail, evaluations included, so by default only managers (who see every
# evaluation); an administrator may give the permission to a QA group.
TRAIL_GRANTS = {"Manager": ["accounts.view_audit_trail"]}


def create_roles(apps) -> None:
    """The role groups, and the admins' grants (migration 0002_roles)."""
    Group = apps.get_model("auth", "Group")
    for role in ALL_ROLES:
        Group.objects.get_or_create(name=role)
    grant_permissions(apps, ADMIN_GRANTS)


def grant_trail(apps, revoke: bool = False) -> None:
    """Migration 0005_trail_grant."""
    grant_permissions(apps, TRAIL_GRANTS, revoke=revoke)


# Quality assurance reviews the audit trail (EU GMP Annex 11 §9, Part 11 §11.10(e)).
QUALITY_GRANTS = {"Quality assurance": ["accounts.view_audit_trail"]}


def grant_quality(apps, revoke: bool = False) -> None:
    """Migration 0009_signature_meanings_qa."""
    grant_permissions(apps, QUALITY_GRANTS, revoke=revoke)


def load(apps) -> None:
    create_roles(apps)
    grant_trail(apps)
    grant_quality(apps)
