"""Writes of what a program needs and where candidates would do it: program steps, the sites each
candidate proposes for them, and the must-have gates (on by default, off only with a reason).

GMP evidence is per site and activity: a candidate is judged at the sites it proposes for each step
(scoring.evidence). Suggestions come from the sites' capabilities and quality regime; the lead edits
them while the candidates are open (draft and scoring).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import NoReturn

from django.db import transaction

from core import trail
from core.errors import ServiceError
from scoring import access, evidence
from scoring.models import Candidate, Evaluation, KnockoutRule, ProgramStep, ProposedSite
from vendors.models import DosageForm, Service, Site

OPEN = (Evaluation.Status.DRAFT, Evaluation.Status.SCORING)
MAX_STEPS = 12


class ProgramError(ServiceError):
    """A refused change to the program's steps, proposed sites or gates."""


def _refuse(message: str, field: str | None = None, status: int = 400) -> NoReturn:
    raise ProgramError(message, field, status)


def _require_lead(user, evaluation: Evaluation, action: str) -> None:
    if not access.is_lead(user, evaluation):
        _refuse(f"Only the evaluation's lead can {action}.", status=403)


def default_gates(evaluation: Evaluation) -> None:
    """A new evaluation's gates: one row per rule, the defaults on, company-wide red flags off."""
    KnockoutRule.objects.bulk_create(
        [
            KnockoutRule(evaluation=evaluation, rule=rule, enabled=rule in KnockoutRule.DEFAULT_ON)
            for rule in KnockoutRule.Rule.values
        ]
    )


def gates_set(
    *, evaluation: Evaluation, user, rules: dict[str, int | None], reason: str = "", years: int | None = None
) -> None:
    """Set which gates are on: `rules` maps each gate that is on to its years (or None). A default gate
    turned off needs `reason`, recorded on the gate and in the trail; fixed once scoring starts."""
    _require_lead(user, evaluation, "change the must-have gates")
    if evaluation.status != Evaluation.Status.DRAFT:
        _refuse("The must-have gates are fixed once scoring has started.", status=409)
    unknown = set(rules) - set(KnockoutRule.Rule.values)
    if unknown:
        _refuse(f"Unknown gate {', '.join(sorted(unknown))}; allowed: {', '.join(KnockoutRule.Rule.values)}.", "rules")
    window = years if years is not None else next((y for y in rules.values() if y), None)
    if window is not None:
        try:
            window = int(window)
        except (TypeError, ValueError):
            _refuse("Give the red-flag window as a whole number of years.", "years")
        if not 1 <= window <= 20:
            _refuse("The red-flag window is from 1 to 20 years.", "years")
    current = {gate.rule: gate for gate in evaluation.knockout_rules.all()}
    turned_off = [
        rule
        for rule in KnockoutRule.DEFAULT_ON
        if rule not in rules and (rule not in current or current[rule].enabled or not current[rule].off_reason)
    ]
    if turned_off and not reason.strip():
        labels = ", ".join(KnockoutRule.Rule(rule).label for rule in turned_off)
        _refuse(f"Record why these gates are off: {labels}.", "reason")
    if reason.strip():
        trail.reason(reason.strip())
    with transaction.atomic():
        for rule in KnockoutRule.Rule.values:
            gate = current.get(rule) or KnockoutRule(evaluation=evaluation, rule=rule)
            gate.enabled = rule in rules
            if gate.enabled:
                gate.off_reason = ""
            elif rule in turned_off:
                gate.off_reason = reason.strip()
            if window is not None:
                gate.years = window
            gate.save()


def _decimal(value, field: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        _refuse("Give a number.", field)
    if not number.is_finite() or number < 0 or number >= Decimal("1e9"):
        _refuse("Give a batch size from 0 to 999,999,999.", field)
    return number


def _step_fields(evaluation: Evaluation, data: dict) -> tuple[dict, list[Service] | None]:
    step = data.get("step")
    if step not in ProgramStep.Step.values:
        _refuse(f"Choose the step: {', '.join(ProgramStep.Step.values)}.", "step")
    regime = data.get("quality_regime") or ProgramStep.DEFAULT_REGIME.get(step, Site.QualityRegime.CGMP)
    if regime not in Site.QualityRegime.values:
        _refuse(f"The quality regime is one of {', '.join(Site.QualityRegime.values)}.", "quality_regime")
    fields: dict = {"step": step, "quality_regime": regime, "volume_note": str(data.get("volume_note") or "")[:200]}
    form = data.get("dosage_form")
    if form in (None, ""):
        fields["dosage_form"] = None
    else:
        found = DosageForm.objects.filter(**({"pk": form} if str(form).isdigit() else {"code": form})).first()
        if found is None:
            _refuse(f"Unknown dosage form “{form}”.", "dosage_form")
        fields["dosage_form"] = found
    unit = data.get("scale_unit") or ""
    if unit and unit not in Site.ScaleUnit.values:
        _refuse(f"The unit is one of {', '.join(Site.ScaleUnit.values)}.", "scale_unit")
    low, high = _decimal(data.get("scale_min"), "scale_min"), _decimal(data.get("scale_max"), "scale_max")
    launch = _decimal(data.get("launch_scale"), "launch_scale")
    if (low is not None or high is not None or launch is not None) and not unit:
        _refuse("Give the unit of the batch sizes (L, kg or g).", "scale_unit")
    if low is not None and high is not None and low > high:
        _refuse("The upper batch size must not be smaller than the lower one.", "scale_max")
    fields.update(scale_unit=unit, scale_min=low, scale_max=high, launch_scale=launch)
    services = None
    if "services" in data and data["services"] is not None:
        given = [str(s) for s in data["services"]]
        by_code = {s.code: s for s in Service.objects.filter(code__in=given)}
        by_pk = {str(s.pk): s for s in Service.objects.filter(pk__in=[g for g in given if g.isdigit()])}
        unknown = [g for g in given if g not in by_code and g not in by_pk]
        if unknown:
            _refuse(f"Unknown service(s): {', '.join(unknown)}.", "services")
        services = list({s.pk: s for s in (by_code.get(g) or by_pk[g] for g in given)}.values())
    return fields, services


def step_add(*, evaluation: Evaluation, user, **data) -> ProgramStep:
    """Add a program step; with no services named, the step's usual ones. Every candidate gets the
    sites suggested that can do it."""
    _require_lead(user, evaluation, "define the program steps")
    if evaluation.status != Evaluation.Status.DRAFT:
        _refuse("Program steps are fixed once scoring has started.", status=409)
    fields, services = _step_fields(evaluation, data)
    if evaluation.steps.count() >= MAX_STEPS:
        _refuse(f"A program has at most {MAX_STEPS} steps.", "step")
    if evaluation.steps.filter(step=fields["step"], dosage_form=fields["dosage_form"]).exists():
        _refuse("The program already has this step for this dosage form.", "step")
    if services is None:
        services = list(Service.objects.filter(code__in=ProgramStep.DEFAULT_SERVICES.get(fields["step"], [])))
    with transaction.atomic():
        position = evaluation.steps.count()
        step = ProgramStep.objects.create(evaluation=evaluation, position=position, **fields)
        step.services.set(services)
        for candidate in evaluation.candidates.select_related("vendor"):
            _suggest(candidate, [step])
    return step


def step_update(*, step: ProgramStep, user, **data) -> ProgramStep:
    evaluation = step.evaluation
    _require_lead(user, evaluation, "define the program steps")
    if evaluation.status != Evaluation.Status.DRAFT:
        _refuse("Program steps are fixed once scoring has started.", status=409)
    merged = {
        "step": step.step,
        "quality_regime": step.quality_regime,
        "dosage_form": step.dosage_form_id,
        "scale_unit": step.scale_unit,
        "scale_min": step.scale_min,
        "scale_max": step.scale_max,
        "launch_scale": step.launch_scale,
        "volume_note": step.volume_note,
        **data,
    }
    fields, services = _step_fields(evaluation, merged)
    clash = evaluation.steps.filter(step=fields["step"], dosage_form=fields["dosage_form"]).exclude(pk=step.pk)
    if clash.exists():
        _refuse("The program already has this step for this dosage form.", "step")
    with transaction.atomic():
        for name, value in fields.items():
            setattr(step, name, value)
        step.save()
        if services is not None:
            step.services.set(services)
        # Proposals that no longer fit the step are dropped; the lead sees the step uncovered.
        for proposal in step.proposals.select_related("site"):
            if evidence.site_cannot(_site_facts(proposal.site), _step_facts(step)) is not None:
                proposal.delete()
    return step


def step_remove(*, step: ProgramStep, user) -> None:
    evaluation = step.evaluation
    _require_lead(user, evaluation, "define the program steps")
    if evaluation.status != Evaluation.Status.DRAFT:
        _refuse("Program steps are fixed once scoring has started.", status=409)
    with transaction.atomic():
        step.proposals.all().delete()
        step.services.clear()
        step.delete()


def _site_facts(site: Site) -> dict:
    return {
        "id": site.pk,
        "name": site.name,
        "quality_regime": site.quality_regime,
        "capabilities": [service.code for service in site.capabilities.all()],
    }


def _step_facts(step: ProgramStep) -> dict:
    services = list(step.services.all())
    return {
        "id": step.pk,
        "label": str(step),
        "regime": step.quality_regime,
        "services": [s.code for s in services],
        "service_names": {s.code: s.name for s in services},
    }


def _suggest(candidate: Candidate, steps) -> None:
    """Propose, for each step, the candidate vendor's sites that can do it (regime and services)."""
    sites = [_site_facts(site) for site in candidate.vendor.sites.prefetch_related("capabilities")]
    by_id = {site.pk: site for site in candidate.vendor.sites.all()}
    rows = [
        ProposedSite(candidate=candidate, step=step, site=by_id[facts["id"]], suggested=True)
        for step in steps
        for facts in sites
        if evidence.site_cannot(facts, _step_facts(step)) is None
    ]
    ProposedSite.objects.bulk_create(rows, ignore_conflicts=True)


def suggest_for_candidate(candidate: Candidate) -> None:
    steps = list(candidate.evaluation.steps.prefetch_related("services"))
    if steps:
        _suggest(candidate, steps)


def proposals_set(*, candidate: Candidate, user, sites_by_step: dict) -> list[ProposedSite]:
    """Replace the sites a candidate proposes: {step id: [site ids]}, every step of the program named
    with at least one site of the candidate's vendor that can do it."""
    evaluation = candidate.evaluation
    _require_lead(user, evaluation, "change the proposed sites")
    if evaluation.status not in OPEN:
        _refuse("Proposed sites are fixed once the evaluation is in review.", status=409)
    steps = {step.pk: step for step in evaluation.steps.prefetch_related("services")}
    if not steps:
        _refuse("The program has no steps: add the steps first.", "sites")
    try:
        wanted = {int(step_id): [int(s) for s in (site_ids or [])] for step_id, site_ids in sites_by_step.items()}
    except (TypeError, ValueError, AttributeError):
        _refuse("Give the sites as {step id: [site ids]}.", "sites")
    unknown = set(wanted) - set(steps)
    if unknown:
        _refuse(f"Step(s) {', '.join(map(str, sorted(unknown)))} are not steps of this program.", "sites")
    vendor_sites = {site.pk: site for site in candidate.vendor.sites.prefetch_related("capabilities")}
    errors = []
    for step_id, step in steps.items():
        chosen = wanted.get(step_id, [])
        if not chosen:
            errors.append(f"{step}: choose at least one site")
            continue
        for site_id in chosen:
            site = vendor_sites.get(site_id)
            if site is None:
                errors.append(f"{step}: site {site_id} is not a site of {candidate.vendor.name}")
                continue
            why = evidence.site_cannot(_site_facts(site), _step_facts(step))
            if why:
                errors.append(f"{step}: {why}")
    if errors:
        _refuse("; ".join(errors) + ".", "sites")
    with transaction.atomic():
        candidate.proposed_sites.all().delete()
        rows = ProposedSite.objects.bulk_create(
            [
                ProposedSite(candidate=candidate, step=steps[step_id], site=vendor_sites[site_id])
                for step_id, site_ids in wanted.items()
                for site_id in dict.fromkeys(site_ids)
            ]
        )
    return rows
