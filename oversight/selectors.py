"""Reads of supplier performance: the latest standing of many sites in one query (for the register, the
quality-systems evidence and "qa"'s risk score), a site's scorecard history, and the lists of the pages
and the API."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from oversight import kpis
from oversight.models_performance import KpiSetting, PerformanceRecord, Scorecard, StandingRules
from vendors.models import Site

TREND_PERIODS = 8  # the charts: the last eight periods
TABLE_PERIODS = 12  # the scorecard page's table: the last twelve (three years of quarters)


@dataclass(frozen=True)
class Standing:
    """A site's standing from its latest scorecard."""

    code: str
    label: str
    period: str
    score: float | None
    period_end: date | None = None
    site_id: int | None = None
    flags: int = 0


def _standing(card: Mapping[str, Any]) -> Standing:
    return Standing(
        code=card["standing"],
        label=kpis.STANDING_LABELS.get(card["standing"], card["standing"]),
        period=card["period_label"],
        score=None if card["score"] is None else float(card["score"]),
        period_end=card["period_end"],
        site_id=card["site_id"],
        flags=len(card["flags"] or ()),
    )


def standing_of(site_ids: Iterable[int]) -> dict[int, Standing]:
    """{site_id: Standing(code, label, period, score)} from each site's latest scorecard, one query; sites
    without a scorecard are absent."""
    ids = list(site_ids)
    if not ids:
        return {}
    cards = (
        Scorecard.objects.filter(site_id__in=ids)
        .order_by("site_id", "-period_end")
        .distinct("site_id")
        .values("site_id", "standing", "period_label", "score", "period_end", "flags")
    )
    return {card["site_id"]: _standing(card) for card in cards}


def vendor_standings(vendor_ids: Iterable[int]) -> dict[int, list[tuple[int, str, Standing]]]:
    """{vendor_id: [(site_id, site name, Standing)]} for the register: the latest standing of each rated site
    of the vendors, in one query."""
    ids = list(vendor_ids)
    if not ids:
        return {}
    cards = (
        Scorecard.objects.filter(site__vendor_id__in=ids)
        .order_by("site_id", "-period_end")
        .distinct("site_id")
        .values("site_id", "site__vendor_id", "site__name", "standing", "period_label", "score", "period_end", "flags")
    )
    found: dict[int, list[tuple[int, str, Standing]]] = {}
    for card in cards:
        found.setdefault(card["site__vendor_id"], []).append((card["site_id"], card["site__name"], _standing(card)))
    for entries in found.values():
        entries.sort(key=lambda e: e[1].lower())
    return found


def can_view(user) -> bool:
    return user.has_perm("oversight.view_scorecard")


def rated_sites(*, q: str = "", standing: str = "", ordering: str = "") -> QuerySet[Site]:
    """Sites with at least one scorecard, annotated with their latest one (one query, with the count)."""
    latest = Scorecard.objects.filter(site=OuterRef("pk")).order_by("-period_end")
    sites = (
        Site.objects.filter(Exists(Scorecard.objects.filter(site=OuterRef("pk"))))
        .select_related("vendor")
        .annotate(
            latest_standing=Subquery(latest.values("standing")[:1]),
            latest_score=Subquery(latest.values("score")[:1]),
            latest_period=Subquery(latest.values("period_label")[:1]),
            latest_end=Subquery(latest.values("period_end")[:1]),
            latest_flags=Subquery(latest.values("flags")[:1]),
        )
    )
    if q:
        sites = sites.filter(Q(name__icontains=q) | Q(vendor__name__icontains=q))
    if standing:
        sites = sites.filter(latest_standing=standing)
    orderings = {
        "site": ["vendor__name", "name"],
        "-site": ["-vendor__name", "-name"],
        "score": ["latest_score", "vendor__name"],
        "-score": ["-latest_score", "vendor__name"],
        "period": ["latest_end", "vendor__name"],
        "-period": ["-latest_end", "vendor__name"],
        "standing": ["latest_standing", "vendor__name"],
        "-standing": ["-latest_standing", "vendor__name"],
    }
    return sites.order_by(*orderings.get(ordering, ["vendor__name", "name"]))


def site_scorecards(site: Site, limit: int = TABLE_PERIODS) -> list[Scorecard]:
    """The site's latest `limit` scorecards with their records, newest first (one query)."""
    return list(
        Scorecard.objects.filter(site=site)
        .select_related("record", "record__entered_by")
        .order_by("-period_end")[:limit]
    )


def trends(cards: list[Scorecard], periods: int = TREND_PERIODS) -> list[dict[str, Any]]:
    """Per KPI: its name, unit, threshold and the values of the last `periods` periods, oldest first."""
    window = list(reversed(cards[:periods]))
    series = []
    for kpi in kpis.KPIS:
        values = [(card.period_label, (card.kpis.get(kpi.code) or {}).get("value")) for card in window]
        latest = (window[-1].kpis.get(kpi.code) or {}) if window else {}
        series.append(
            {
                "code": kpi.code,
                "name": kpi.name,
                "unit": kpi.unit,
                "higher_is_better": kpi.higher_is_better,
                "threshold": latest.get("threshold"),
                "points": values,
            }
        )
    return series


def kpi_settings() -> list[dict[str, Any]]:
    """Each KPI's definition (formula, unit, direction) with its setting."""
    settings = {s.kpi: s for s in KpiSetting.objects.select_related("updated_by")}
    return [{"kpi": kpi, "setting": settings.get(kpi.code)} for kpi in kpis.KPIS]


def rules_history(limit: int = 20) -> list[StandingRules]:
    return list(StandingRules.objects.select_related("created_by").order_by("-version")[:limit])


def records(*, site_id: int | None = None) -> QuerySet[PerformanceRecord]:
    found = PerformanceRecord.objects.select_related("site__vendor", "scorecard", "entered_by")
    if site_id:
        found = found.filter(site_id=site_id)
    return found.order_by("site__vendor__name", "site__name", "-start")


def suggested_period(site: Site | None) -> tuple[date, date]:
    """The quarter after the site's latest period, or the last full quarter."""
    latest = PerformanceRecord.objects.filter(site=site).order_by("-end").first() if site else None
    if latest is not None:
        return kpis.next_quarter(latest.end)
    start, _ = kpis.quarter_of(date.today())
    return kpis.quarter_of(start - timedelta(days=1))


def standing_subqueries(site_ref: str = "pk") -> tuple[Subquery, Subquery, Subquery]:
    """The latest scorecard's standing, score and period label as subqueries to annotate a Site query with
    (for a caller that reads sites anyway, e.g. the ranking's evidence): no query of their own."""
    latest = Scorecard.objects.filter(site=OuterRef(site_ref)).order_by("-period_end")
    return (
        Subquery(latest.values("standing")[:1]),
        Subquery(latest.values("score")[:1]),
        Subquery(latest.values("period_label")[:1]),
    )
