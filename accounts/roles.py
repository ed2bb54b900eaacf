"""The six roles are Django groups; what each may do is granted by app migrations."""

PROCUREMENT_LEAD = "Procurement lead"
EVALUATOR = "Evaluator"
AUDITOR = "Auditor"
MANAGER = "Manager"
ADMIN = "Admin"
# Signs the qualification outcome of a signed audit report (independent of the audit team).
QA = "Quality assurance"
ALL_ROLES = [PROCUREMENT_LEAD, EVALUATOR, AUDITOR, MANAGER, ADMIN, QA]

ROLE_SLUGS = {
    PROCUREMENT_LEAD: "procurement",
    EVALUATOR: "evaluator",
    AUDITOR: "auditor",
    MANAGER: "manager",
    ADMIN: "admin",
    QA: "qa",
}


def user_roles(user) -> list[str]:
    if not user.is_authenticated:
        return []
    cached = getattr(user, "_role_names", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = [role for role in ALL_ROLES if role in names]
        user._role_names = cached
    return cached


def has_role(user, role: str) -> bool:
    return role in user_roles(user)


def grant_permissions(apps, grants: dict[str, list[str]], revoke: bool = False) -> None:
    """Give (or take back) "app_label.codename" permissions to role groups, from a migration.

    Permissions are normally created after migrations run; create them here so a fresh
    database gets its role grants in one `migrate`.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in grants.items():
        group, _ = Group.objects.get_or_create(name=role)
        for perm in perms:
            app_label, codename = perm.split(".")
            permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
            if revoke:
                group.permissions.remove(permission)
            else:
                group.permissions.add(permission)
