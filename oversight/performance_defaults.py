"""The starting KPI settings and standing rules, and the roles' permissions on supplier performance.

Plain functions of an app registry (a migration's historical one, or django.apps.apps), idempotent:
migration 0001_performance calls them, and seed_demo may (`load`).

Who does what: quality assurance enters performance, edits KPI settings (weights, scales, thresholds)
and the standing rules; auditors enter performance and read the rest; managers and procurement leads
read everything. Evaluators see a site's standing where it is evidence (the register and the quality
systems criterion), not the scorecards themselves; admins make no business decisions.
"""

from accounts.roles import grant_permissions
from oversight import kpis

READ = [
    "oversight.view_performancerecord",
    "oversight.view_scorecard",
    "oversight.view_kpisetting",
    "oversight.view_standingrules",
]
ENTER = ["oversight.add_performancerecord", "oversight.change_performancerecord"]
ROLE_GRANTS = {
    "Quality assurance": [*READ, *ENTER, "oversight.change_kpisetting", "oversight.add_standingrules"],
    "Auditor": [*READ, *ENTER],
    "Manager": READ,
    "Procurement lead": READ,
}


def grant(apps, schema_editor=None, revoke: bool = False) -> None:
    grant_permissions(apps, ROLE_GRANTS, revoke=revoke)


def revoke(apps, schema_editor=None) -> None:
    grant(apps, revoke=True)


def load_defaults(apps, schema_editor=None) -> None:
    KpiSetting = apps.get_model("oversight", "KpiSetting")
    StandingRules = apps.get_model("oversight", "StandingRules")
    for code, (weight, at1, at5, threshold, severity) in kpis.DEFAULT_SETTINGS.items():
        KpiSetting.objects.get_or_create(
            kpi=code,
            defaults={
                "weight": weight,
                "scores_1_at": at1,
                "scores_5_at": at5,
                "threshold": threshold,
                "severity": severity,
            },
        )
    if not StandingRules.objects.exists():
        StandingRules.objects.create(
            version=1, bands=kpis.DEFAULT_RULES["bands"], caps=kpis.DEFAULT_RULES["caps"], note="Initial rules."
        )


def load(apps) -> None:
    load_defaults(apps)
    grant(apps)
