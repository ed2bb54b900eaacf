"""What a packet is made of, and making it: the PDF (WeasyPrint in the limited child with every URL
fetch refused), the response questionnaire (XLSX with drop-down validation and a cost-breakdown
sheet) and the ZIP bundle.

A packet is what a vendor receives: the program's requirements as the evaluation states them, the
template of the partner kind the program buys (`kind_for`), and no internal record of the sponsor
(no approvers, signatures, snapshot hashes or template versions; those stay in the RFP record).

User text reaches the PDF as Markdown rendered with raw HTML disabled, then sanitised (nh3) to a
small allow-list without any URL-bearing element; placeholders are filled before rendering, so a
vendor name is Markdown text like any other, never markup.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import zipfile
from collections.abc import Collection
from datetime import datetime
from decimal import Decimal

import nh3
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django_countries import countries
from markdown_it import MarkdownIt
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from rfp.defaults import PLACEHOLDERS
from rfp.models import Packet, Rfp, RfpTemplate
from scoring.models import ProgramStep, ProposedSite
from vendors.models import Agency, Service

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable(["image"])
# No a/img/link: a packet PDF has no business fetching or pointing anywhere.
ALLOWED_TAGS = {"p", "ul", "ol", "li", "strong", "em", "code", "pre", "blockquote", "h3", "h4", "br", "hr"}


def unknown_placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text)) - set(PLACEHOLDERS)


def fill(text: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def markdown(text: str) -> str:
    """Markdown to HTML that is safe to put into the PDF template unescaped."""
    return nh3.clean(_markdown.render(text or ""), tags=ALLOWED_TAGS, attributes={}, url_schemes=set())


# --- What the program buys: the template's kind ------------------------------------------------------

MANUFACTURING, DEVELOPMENT, CLINICAL = "manufacturing", "development", "clinical"
STEP_SCOPE: dict[str, str] = {
    ProgramStep.Step.DRUG_SUBSTANCE: MANUFACTURING,
    ProgramStep.Step.DRUG_PRODUCT: MANUFACTURING,
    ProgramStep.Step.TESTING: MANUFACTURING,
    ProgramStep.Step.PACKAGING: MANUFACTURING,
    ProgramStep.Step.DEVELOPMENT: DEVELOPMENT,
    ProgramStep.Step.NONCLINICAL: CLINICAL,
    ProgramStep.Step.CLINICAL: CLINICAL,
}
# Research chemistry (a CRO's lab services) is development of the process; project management and
# regulatory affairs come with any kind of partner and say nothing about what is bought.
RESEARCH_CHEMISTRY = {"route-scouting", "medicinal-chemistry", "process-research", "formulation-research"}
NEUTRAL_SERVICES = {"project-management", "regulatory-affairs", "cmc-regulatory-writing", "dmf-filing"}
SERVICE_GROUP_SCOPE: dict[str, str] = {
    Service.Group.RESEARCH_CLINICAL: CLINICAL,
    Service.Group.DEVELOPMENT: DEVELOPMENT,
    Service.Group.MANUFACTURING: MANUFACTURING,
    Service.Group.REGULATORY_QUALITY: MANUFACTURING,  # release and stability testing, QP release
}


def _service_scope(service: Service) -> str | None:
    if service.code in NEUTRAL_SERVICES:
        return None
    if service.code in RESEARCH_CHEMISTRY:
        return DEVELOPMENT
    return SERVICE_GROUP_SCOPE.get(service.group)


def scope_of(steps: list[ProgramStep], services: list[Service]) -> set[str]:
    """What the program buys: manufacturing, development and/or clinical (research) services, from
    its steps and the services they and the evaluation name."""
    scope = {STEP_SCOPE[step.step] for step in steps if step.step in STEP_SCOPE}
    for service in [*services, *(s for step in steps for s in step.services.all())]:
        found = _service_scope(service)
        if found:
            scope.add(found)
    return scope


def kind_from_scope(scope: set[str], allowed_kinds: Collection[str] = ()) -> str:
    """Manufacturing only: CMO; development (with or without manufacturing): CDMO; clinical services
    only: CRO; development or manufacturing together with clinical services: integrated. A program
    that states nothing it buys follows the kinds the lead allows, else CDMO."""
    Kind = RfpTemplate.Kind
    if CLINICAL in scope:
        return Kind.INTEGRATED if scope & {DEVELOPMENT, MANUFACTURING} else Kind.CRO
    if DEVELOPMENT in scope:
        return Kind.CDMO
    if MANUFACTURING in scope:
        return Kind.CMO
    if {"CDMO", "CRO"} <= set(allowed_kinds):
        return Kind.INTEGRATED
    for kind in ("CDMO", "CMO", "CRO"):
        if kind in allowed_kinds:
            return kind
    return Kind.CDMO


def _steps(evaluation) -> list[ProgramStep]:
    return list(evaluation.steps.select_related("dosage_form").prefetch_related("services").order_by("position", "pk"))


def kind_for(evaluation) -> str:
    """The template kind (RfpTemplate.Kind value) for what the evaluation's program buys, whatever
    the kinds of the vendor who receives it."""
    scope = scope_of(_steps(evaluation), list(evaluation.required_services.all()))
    return kind_from_scope(scope, {k.code for k in evaluation.allowed_kinds.all()})


# --- The program's requirements, as the vendor reads them ------------------------------------------

SYNTHETIC = {"small-molecule", "peptide", "oligonucleotide"}  # DMF / ASMF territory
BIOLOGIC = {"biologic-mab", "cell-gene-therapy", "vaccine"}  # described in the BLA / MAA itself
STERILE_FORMS = {"sterile-injectable", "ophthalmic"}
MARKETS = {
    Agency.FDA: "United States",
    Agency.EMA: "European Union",
    Agency.MHRA: "United Kingdom",
    Agency.PMDA: "Japan",
    Agency.HC: "Canada",
    Agency.ANVISA: "Brazil",
    Agency.NMPA: "China",
    Agency.TGA: "Australia",
    Agency.SWISSMEDIC: "Switzerland",
    Agency.WHO: "UN-agency procurement (WHO prequalification)",
}
AUTHORITIES = {Agency.EMA: "EMA and the EU national competent authorities"}
# Who inspects a site for each authority: EU GMP inspections are the national authorities' (EMA coordinates).
INSPECTORS = {
    Agency.FDA: "the FDA",
    Agency.EMA: "the EU national competent authorities (EMA coordinates)",
    Agency.MHRA: "the MHRA",
    Agency.TGA: "the TGA",
    Agency.WHO: "WHO prequalification",
}
DEVELOPMENT_SCOPE = {
    "synthetic": "route scouting and process research, process optimisation and formulation development",
    "biologic-mab": "cell line development, upstream (cell culture) and downstream (purification) process "
    "development, and formulation development",
    "vaccine": "development of the expression system or cell substrate, upstream and downstream process "
    "development, and formulation development",
    "cell-gene-therapy": "vector and cell process development (upstream, downstream and formulation), with the "
    "analytical methods for potency and identity",
    None: "process and formulation development",
}
HANDOVER = {
    "synthetic": "a route developed in your laboratories becomes a robust, scalable manufacturing process (no "
    "chromatography at every step, no hazardous reagents in stoichiometric amounts, workable dilution)",
    "biologic": "the cell line and the process developed in your laboratories move to GMP manufacturing at scale: "
    "scale-down models, process characterisation, and comparability after scale-up or a change of site",
    None: "the process developed in your laboratories becomes a robust, scalable GMP manufacturing process",
}
MATERIALS = {
    "synthetic": "key starting materials, reagents, solvents, excipients and primary packaging",
    "biologic": "cell culture media and feeds, chromatography resins, filters, single-use systems, excipients and "
    "primary packaging (vials, stoppers)",
    "cell-gene-therapy": "plasmids, cell culture media, reagents of biological origin, single-use systems and "
    "primary containers",
    None: "starting materials, reagents, excipients and primary packaging",
}


def _family(modality: str | None) -> str | None:
    if modality in SYNTHETIC:
        return "synthetic"
    if modality in BIOLOGIC:
        return "biologic"
    return None


def _number(value: Decimal) -> str:
    return f"{Decimal(value).normalize():,f}"


def _batch(low, high, unit: str) -> str | None:
    if low is None and high is None:
        return None
    if low is not None and high is not None:
        sizes = _number(low) if low == high else f"{_number(low)}–{_number(high)}"
        return f"{sizes} {unit}"
    return f"up to {_number(high)} {unit}" if high is not None else f"at least {_number(low)} {unit}"


def _join(items: list[str]) -> str:
    return ", ".join(items)


def _unique(items) -> list:
    return list(dict.fromkeys(item for item in items if item))


def _step_title(step: ProgramStep) -> str:
    """ "Drug substance" with "Biologic drug substance" is one thing, not "Drug substance (Biologic drug substance)"."""
    label = step.get_step_display()
    form = step.dosage_form.name if step.dosage_form else ""
    if not form or form.lower() in label.lower():
        return label
    if label.lower() in form.lower():
        return form
    return f"{label} — {form}"


def _date(value) -> str:
    return value.strftime("%d %B %Y").lstrip("0") if value else "to be announced"


class _Program:
    """The evaluation's program read once: program-wide terms, steps with their services, and the sites
    this candidate was considered with per step."""

    def __init__(self, evaluation, candidate) -> None:
        self.evaluation = evaluation
        self.steps = _steps(evaluation)
        self.services = list(evaluation.required_services.all())
        self.scope = scope_of(self.steps, self.services)
        self.modality = evaluation.modality.code if evaluation.modality else None
        self.family = _family(self.modality)
        forms = [evaluation.dosage_form, *(step.dosage_form for step in self.steps)]
        self.forms = _unique(forms)
        self.form_codes = {form.code for form in self.forms}
        self.agencies = [a for a in _unique(evaluation.target_agencies or []) if a in Agency.values and a != "other"]
        self.sites: dict[int, list[str]] = {}
        proposals = ProposedSite.objects.filter(candidate=candidate, step__evaluation=evaluation).select_related("site")
        for proposal in proposals.order_by("step_id", "site__name"):
            site = proposal.site
            where = f"{site.name}, {countries.name(site.country)}" if site.country else site.name
            self.sites.setdefault(proposal.step_id, []).append(where)

    @property
    def step_kinds(self) -> set[str]:
        return {step.step for step in self.steps}

    def makes_substance(self) -> bool:
        if self.steps:
            return ProgramStep.Step.DRUG_SUBSTANCE in self.step_kinds
        codes = {s.code for s in self.services}
        return "api-manufacturing" in codes or "biologic-drug-substance" in self.form_codes or not self.form_codes

    def makes_product(self) -> bool:
        if self.steps:
            return bool({ProgramStep.Step.DRUG_PRODUCT, ProgramStep.Step.PACKAGING} & self.step_kinds)
        codes = {s.code for s in self.services}
        return bool(
            {"drug-product-manufacturing", "fill-finish"} & codes
            or self.form_codes - {"biologic-drug-substance"}
            or not self.form_codes
        )

    def sterile(self) -> bool:
        fill_finish = any(s.code == "fill-finish" for step in self.steps for s in step.services.all())
        return bool(self.form_codes & STERILE_FORMS) or fill_finish or "fill-finish" in {s.code for s in self.services}

    def cold(self) -> bool:
        return self.family == "biologic" or "biologic-drug-substance" in self.form_codes


def _facts(program: _Program, values: dict, tbc: str) -> str:
    evaluation = program.evaluation
    lines, missing = [], []
    for label, value, name in (
        ("Modality", evaluation.modality.name if evaluation.modality else "", "the modality"),
        ("Phase", evaluation.phase.name if evaluation.phase else "", "the phase"),
        (
            "Dosage forms" if len(program.forms) > 1 else "Dosage form",
            _join([form.name for form in program.forms]),
            "the dosage form",
        ),
        ("Target authorities", values["authorities"] if program.agencies else "", "the target authorities"),
        ("Target markets", values["markets"] if program.agencies else "", None),
        (
            "Supply or services needed by",
            _date(evaluation.needed_by) if evaluation.needed_by else "",
            "the needed-by date",
        ),
    ):
        if value:
            lines.append(f"- {label}: {value}")
        elif name:
            missing.append(name)
    text = "\n".join(lines)
    if missing:
        text += f"\n\n{tbc[0].upper()}{tbc[1:]}: {_join(missing)}."
    return text.strip()


def _requirements(program: _Program, tbc: str) -> str:
    evaluation = program.evaluation
    blocks = []
    listed: set[int] = set()
    for number, step in enumerate(program.steps, start=1):
        services = list(step.services.all())
        listed |= {s.pk for s in services}
        lines = [f"#### {number}. {_step_title(step)}", ""]
        if services:
            lines.append(f"- Services: {_join([s.name for s in services])}")
        lines.append(f"- Quality regime: {step.quality_regime}")
        now = _batch(step.scale_min, step.scale_max, step.scale_unit)
        if now:
            lines.append(f"- Batch size now: {now}")
        if step.launch_scale is not None:
            lines.append(f"- Batch size at launch: {_number(step.launch_scale)} {step.scale_unit}")
        if step.volume_note:
            lines.append(f"- Volumes: {step.volume_note}")
        if program.sites.get(step.pk):
            lines.append(f"- Sites considered in our evaluation: {'; '.join(program.sites[step.pk])}")
        blocks.append("\n".join(lines))
    rest = [s.name for s in program.services if s.pk not in listed]
    general = []
    if rest:
        general.append(f"- {'Further services' if program.steps else 'Services'}: {_join(rest)}")
    now = _batch(evaluation.scale_min, evaluation.scale_max, evaluation.scale_unit)
    if now:
        general.append(f"- Batch size now: {now}")
    if evaluation.launch_scale is not None:
        general.append(f"- Batch size at launch: {_number(evaluation.launch_scale)} {evaluation.scale_unit}")
    if general:
        blocks.append(("#### Across the program\n\n" if program.steps else "") + "\n".join(general))
    if not blocks:
        return f"The detailed scope of work is {tbc}."
    return "\n\n".join(blocks)


def _inspected_by(program: _Program) -> str:
    names = [INSPECTORS.get(agency, Agency(agency).label) for agency in program.agencies]
    if not names:
        return ""
    return " by " + (names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}")


TRIAL_APPLICATIONS = {
    Agency.FDA: "an IND with the FDA",
    Agency.EMA: "a CTA through CTIS under the EU Clinical Trials Regulation",
    Agency.MHRA: "a CTA with the MHRA",
}


def _trial_applications(program: _Program) -> str:
    found = [TRIAL_APPLICATIONS[agency] for agency in program.agencies if agency in TRIAL_APPLICATIONS]
    return f" ({', '.join(found)})" if found else ""


def _applications(program: _Program) -> str:
    """Where a biologic's drug substance is described: the marketing application, by authority."""
    names = {Agency.FDA: "the BLA (United States)", Agency.EMA: "the MAA (EU)"}
    found = [names[agency] for agency in program.agencies if agency in names]
    return " and ".join(found) if found else "our marketing application"


def _master_files(program: _Program, values: dict) -> str:
    """DMF with a Letter of Authorization (US) and ASMF (EU): for synthetic active substances only."""
    sponsor, agencies = values["sponsor"], set(program.agencies)
    files = []
    if Agency.FDA in agencies or not agencies:
        files.append(
            "whether you hold, or will file, a US Drug Master File (Type II) for it and will give "
            f"{sponsor} a Letter of Authorization to reference it"
        )
    if Agency.EMA in agencies or not agencies:
        files.append(
            "whether you hold an EU Active Substance Master File (ASMF) whose applicant's part you share with us"
        )
    if not files:
        files.append(
            f"whether you hold a Drug Master File (or its equivalent) with {values['authorities']} and will give "
            f"{sponsor} a Letter of Authorization (or access) to reference it"
        )
    return (
        "; ".join(files)
        + "; where no master file is used, which CTD Module 3.2.S sections you would prepare or support."
    )


def _regulatory(program: _Program, kind: str, values: dict, tbc: str) -> str:
    if kind == RfpTemplate.Kind.CRO:
        authorities = values["authorities"] if program.agencies else "the authorities of the target markets"
        return (
            f"- Your experience preparing and submitting clinical trial applications to {authorities}"
            f"{_trial_applications(program)}, and the regulatory documents you would write.\n"
            f"- How you prepare the trial sites and your own organisation for GCP inspections{_inspected_by(program)}, "
            "and the outcome of your recent ones."
        )
    sponsor = values["sponsor"]
    lines = []
    if program.makes_substance():
        if program.family == "biologic":
            lines.append(
                f"- For the drug substance, which is described in {_applications(program)} itself (CTD Module "
                "3.2.S): which 3.2.S sections you would prepare or support: 3.2.S.2 (manufacturer, process and controls, control of "
                "materials including cell banks, process validation), 3.2.S.3 (characterisation), 3.2.S.4 "
                "(control of the drug substance), 3.2.S.5 (reference standards), 3.2.S.6 (container closure) and "
                "3.2.S.7 (stability), with the adventitious-agents safety data of 3.2.A.2."
            )
        elif program.family == "synthetic":
            lines.append(f"- For the drug substance: {_master_files(program, values)}")
        else:
            lines.append(
                "- For the drug substance: which CTD Module 3.2.S sections you would prepare or support; for a "
                f"synthetic active substance, also whether you hold a Drug Master File with a Letter of "
                f"Authorization for {sponsor}, or an ASMF in the EU (the modality is {tbc})."
            )
    if program.makes_product():
        aseptic = ", aseptic process simulation included" if program.sterile() else ""
        lines.append(
            "- For the drug product: which CTD Module 3.2.P sections you would prepare or support: 3.2.P.2 "
            f"(pharmaceutical development), 3.2.P.3 (manufacture and process validation{aseptic}), 3.2.P.5 (control "
            "of the drug product), 3.2.P.7 (container closure) and 3.2.P.8 (stability)."
        )
    if DEVELOPMENT in program.scope:
        lines.append(
            "- The development reports you would write for the dossier (process development and pharmaceutical "
            "development, CTD 3.2.S.2.6 and 3.2.P.2), and the data behind them."
        )
    if program.sterile():
        fda_aseptic = " and FDA's guidance on aseptic processing" if Agency.FDA in program.agencies else ""
        lines.append(
            f"- For sterile manufacture under EU GMP Annex 1{fda_aseptic}: your contamination control strategy and "
            "your record of aseptic process simulations (media fills)."
        )
    inspected = _inspected_by(program)
    if program.family == "biologic":
        lines.append(
            f"- How you prepare for pre-licence (PLI) and pre-approval (PAI) inspections{inspected}, and the "
            "outcome of your recent ones."
        )
    else:
        lines.append(
            f"- How you prepare for pre-approval inspections (PAI) and GMP inspections{inspected}, and the outcome "
            "of your recent ones."
        )
    if kind == RfpTemplate.Kind.INTEGRATED and CLINICAL in program.scope:
        lines.append(
            "- For the clinical services: your experience with clinical trial applications (IND, CTA) and how "
            "you prepare trial sites for GCP inspections."
        )
    return "\n".join(lines)


def _qp_release(program: _Program, kind: str) -> str:
    eu, uk = Agency.EMA in program.agencies, Agency.MHRA in program.agencies
    if not (eu or uk):
        return ""
    where = "the EU/EEA" if eu else "the United Kingdom"
    if kind == RfpTemplate.Kind.CRO:
        return (
            f"Investigational medicinal products for trial sites in {where} are certified by a Qualified Person "
            "(QP) of a holder of a manufacturing or import authorisation there, and products made elsewhere are "
            "imported under that authorisation. State whether you manage the import, QP certification and "
            "distribution to the trial sites (yourselves or through a named depot), or rely on our supply."
        )
    text = (
        "Every batch released for a clinical trial or the market in the EU/EEA is certified by a Qualified Person "
        "(QP) of a holder of an EU manufacturing or import authorisation; a batch made outside the EU/EEA is "
        "imported under such an authorisation and, unless a mutual recognition agreement covers the country of "
        "manufacture, re-tested in the EU (import testing). "
        if eu
        else ""
    )
    if uk:
        text += "For the United Kingdom, a QP named on an MHRA manufacturing or import licence certifies the batches. "
    return text + (
        "State whether you provide QP certification and import testing yourselves (which site, which "
        "authorisation) or through a named partner, and the time this adds to release."
    )


def _cold_chain(program: _Program) -> str:
    if not program.cold():
        return ""
    text = (
        "The product needs a cold chain: describe your temperature-controlled storage (2–8 °C, frozen or "
        "cryogenic as the product needs), the qualification of your shipping lanes and containers, temperature "
        "monitoring, and how excursions are handled."
    )
    if program.modality == "cell-gene-therapy":
        text += " Describe also how you keep the chain of identity and custody."
    return text


def _program_values(program: _Program, kind: str, contact: str) -> dict[str, str]:
    tbc = f"to be confirmed with {contact}"
    evaluation = program.evaluation
    authorities = [AUTHORITIES.get(a, Agency(a).label) for a in program.agencies]
    markets = _unique(MARKETS.get(a) for a in program.agencies)
    family_key = program.modality if program.modality in DEVELOPMENT_SCOPE else program.family
    return {
        "modality": evaluation.modality.name if evaluation.modality else tbc,
        "phase": evaluation.phase.name if evaluation.phase else tbc,
        "dosage_form": _join([form.name for form in program.forms]) or tbc,
        "markets": _join(markets) or tbc,
        "authorities": _join(authorities) or tbc,
        "needed_by": _date(evaluation.needed_by) if evaluation.needed_by else tbc,
        "development_scope": DEVELOPMENT_SCOPE.get(family_key) or DEVELOPMENT_SCOPE[None],
        "development_handover": HANDOVER[program.family],
        "materials": MATERIALS.get(program.modality) or MATERIALS[program.family],
        "cold_chain": _cold_chain(program),
        "qp_release": _qp_release(program, kind),
        "requirements": _requirements(program, tbc),
    }


# --- The cost breakdown the vendor fills in -----------------------------------------------------------

PRICING_BASES = {
    "CRO": ["FTE", "Fixed price", "Time and materials", "Milestone", "Pass-through"],
    "CMO": [
        "Per batch",
        "Per campaign",
        "Cost-plus",
        "Take-or-pay",
        "Technology transfer fee",
        "Fixed price",
        "Pass-through",
    ],
    "CDMO": [
        "Development fee",
        "Technology transfer fee",
        "Per batch",
        "Per campaign",
        "Cost-plus",
        "Take-or-pay",
        "Fixed price",
        "FTE",
        "Pass-through",
    ],
}
PRICING_BASES["INTEGRATED"] = _unique([*PRICING_BASES["CDMO"], *PRICING_BASES["CRO"]])
CURRENCIES = ["USD", "EUR", "GBP", "CHF", "JPY"]
CLINICAL_ITEMS = [
    ("Project management", "FTE"),
    ("Site selection and start-up", "Fixed price"),
    ("Clinical monitoring", "FTE"),
    ("Data management and biostatistics", "Fixed price"),
    ("Medical writing", "Fixed price"),
    ("Pass-through costs (investigator fees, travel)", "Pass-through"),
]


def _cost_items(program: _Program, kind: str) -> list[list[str]]:
    """Lines the vendor starts from (they add, change or remove lines): item and a suggested basis."""
    items: list[tuple[str, str]] = []
    if kind == "CDMO" or (kind == "INTEGRATED" and DEVELOPMENT in program.scope):
        items.append(("Process and analytical development", "Development fee"))
    if kind != "CRO":
        items.append(("Technology transfer", "Technology transfer fee"))
        manufacturing = [s for s in program.steps if STEP_SCOPE.get(s.step) == MANUFACTURING]
        for step in manufacturing:
            basis = (
                "Per batch"
                if step.step in (ProgramStep.Step.DRUG_SUBSTANCE, ProgramStep.Step.DRUG_PRODUCT)
                else "Fixed price"
            )
            items.append((f"{_step_title(step)}: GMP {'batch' if basis == 'Per batch' else 'work'}", basis))
        if not manufacturing:
            items.append(("GMP batch", "Per batch"))
        items += [("Release testing and stability programme", "Fixed price"), ("Materials", "Pass-through")]
    if kind in ("CRO", "INTEGRATED"):
        items += CLINICAL_ITEMS
    return [list(item) for item in _unique(items)]


# --- The packet's inputs ------------------------------------------------------------------------------


def inputs(rfp: Rfp, candidate, template: RfpTemplate, manifest: list[dict], attachments: list[tuple]) -> dict:
    """Everything a packet is made from, as JSON: its SHA-256 decides whether a packet must be re-made.

    What a vendor receives only: `manifest` (the shortlist's signatures) stays in the sponsor's record
    and is not part of the packet (the argument is kept for the callers)."""
    evaluation = rfp.shortlist.evaluation
    snapshot = rfp.shortlist.snapshot or {}
    program = _Program(evaluation, candidate)
    kind = template.kind
    values = {
        "sponsor": rfp.sponsor,
        "program": evaluation.name,
        "vendor": candidate.vendor.name,
        "kind": template.get_kind_display(),
        "issue_date": _date(rfp.issue_date),
        "questions_due": _date(rfp.questions_due),
        "proposal_due": _date(rfp.proposal_due),
        "presentations": _date(rfp.presentations),
        "award_decision": _date(rfp.award_decision),
        "contact_name": rfp.contact_name,
        "contact_email": rfp.contact_email,
        "rfp_id": rfp.reference,
    }
    contact = f"{rfp.contact_name} ({rfp.contact_email})"
    values |= _program_values(program, kind, contact)
    tbc = f"to be confirmed with {contact}"
    values["program_facts"] = _facts(program, values, tbc)
    values["regulatory"] = _regulatory(program, kind, values, tbc)
    sections = [{"key": s["key"], "title": s["title"], "body": fill(s["body"], values)} for s in template.sections]
    extra = {
        "background": rfp.program_background,
        "scope": rfp.scope_notes,
        "confidentiality": rfp.confidentiality,
    }
    for section in sections:
        if extra.get(section["key"]):
            section["body"] = (section["body"].rstrip() + "\n\n" + fill(extra[section["key"]], values)).strip()
    return {
        "rfp": {"id": rfp.pk, "title": rfp.title, "reference": values["rfp_id"]},
        "values": values,
        "template": {"id": template.pk, "kind": kind},
        # A section with nothing to say for this program (QP release outside the EU and UK) is left out.
        "sections": [s for s in sections if s["body"].strip()],
        "criteria": [
            {"name": c["name"], "weight": c["weight"] if rfp.disclose_weights else None}
            for c in snapshot.get("criteria", [])
            if c.get("weight")
        ],
        "questions": template.questions,
        "cost": {
            "bases": PRICING_BASES.get(kind, PRICING_BASES["CDMO"]),
            "items": _cost_items(program, kind),
        },
        "attachments": [{"name": name, "sha256": digest} for name, digest in attachments],
    }


def digest(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def packet_html(data: dict) -> str:
    sections = [{**s, "html": markdown(s["body"])} for s in data["sections"]]
    return render_to_string("rfp/packet_pdf.html", {"data": data, "sections": sections})


# --- The questionnaire --------------------------------------------------------------------------------

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="0F2742")
COST_COLUMNS = ["Item", "Pricing basis", "Quantity", "Unit", "Unit price", "Currency", "Amount", "Notes"]
COST_LINES = 30  # rows offered for lines (suggested ones included); the total sums them


def _text(value: str) -> str:
    """Our text in a cell, never a formula."""
    return value.lstrip("=+-@\t\r")


def _header(sheet, row: int) -> None:
    for cell in sheet[row]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL


def questionnaire(data: dict, *, packet: Packet | None = None) -> bytes:
    """The response questionnaire: questions grouped by criterion, answer columns, drop-down compliance;
    the cost breakdown sheet (one line per item, pricing basis from a list, amounts computed) with the
    pricing model and its sections; and the hidden "_check" sheet that identifies the question set
    when the file comes back (rfp.responses). Only the answer cells are unlocked."""
    book = Workbook()
    sheet = book.active
    sheet.title = QUESTIONNAIRE_SHEET
    sheet.append([_text(f"{data['rfp']['reference']} — {data['rfp']['title']}")])
    sheet.append([_text(f"Vendor: {data['values']['vendor']}. Return by {data['values']['proposal_due']}.")])
    sheet.append([])
    sheet.append(["No.", "Criterion", "Question", "Compliance", "Answer", "Supporting document"])
    _header(sheet, 4)
    sheet["A1"].font = Font(bold=True, size=13)
    compliance = _list_validation(COMPLIANCE, "Compliance", "Choose Yes, Partly, No or Not applicable.")
    answer = _text_validation(ANSWER_LENGTH)
    document = _text_validation(DOCUMENT_LENGTH)
    for validation in (compliance, answer, document):
        sheet.add_data_validation(validation)
    questions = question_set(data)
    for number, criterion, question in questions:
        # Text cells only: a question starting with "=" must not become a formula.
        sheet.append([number, criterion, question, None, None, None])
        row = sheet.max_row
        compliance.add(f"D{row}")
        answer.add(f"E{row}")
        document.add(f"F{row}")
        for column in "DEF":
            sheet[f"{column}{row}"].protection = UNLOCKED
        for column in "CE":
            sheet[f"{column}{row}"].alignment = Alignment(wrap_text=True, vertical="top")
    for column, width in zip("ABCDEF", (6, 28, 70, 16, 70, 28), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A5"
    _protect(sheet)
    layout = pricing_layout(data["template"]["kind"])
    _cost_sheet(book, data, layout)
    check = book.create_sheet(CHECK_SHEET)
    identity = check_identity(data, packet)
    for key, value in identity.items():
        check.append([key, value])
    check.append(["checksum", checksum(identity, questions, layout)])
    check.sheet_state = "hidden"
    _protect(check)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# The answer cells and the pricing layout: rfp.responses reads the returned file with the same names.
QUESTIONNAIRE_SHEET = "Questionnaire"
COST_SHEET = "Cost breakdown"
CHECK_SHEET = "_check"
COMPLIANCE = ["Yes", "Partly", "No", "Not applicable"]
ANSWER_LENGTH, DOCUMENT_LENGTH, LABEL_LENGTH = 10000, 255, 255
UNLOCKED = Protection(locked=False)
PRICING_MODELS = {
    "CRO": ["FTE", "Fixed price", "Time and materials", "Milestones"],
    "CMO": ["Per batch", "Per campaign", "Cost-plus", "Take-or-pay"],
    "CDMO": ["Per batch", "Per campaign", "Cost-plus", "Take-or-pay"],
}
PRICING_MODELS["INTEGRATED"] = [*PRICING_MODELS["CDMO"], *PRICING_MODELS["CRO"]]
# A column: (header, PriceLine field, type). Types: text, number (>= 0), date.
_SECTIONS = {
    "fte": (
        "FTE roles",
        [
            ("Role", "item", "text"),
            ("Monthly rate per FTE", "rate", "number"),
            ("FTEs", "quantity", "number"),
            ("Months", "months", "number"),
        ],
        8,
    ),
    "fixed": ("Fixed-price items", [("Item", "item", "text"), ("Price", "amount", "number")], 8),
    "time_materials": (
        "Time and materials: rate card and estimate",
        [
            ("Role or service", "item", "text"),
            ("Hourly rate", "rate", "number"),
            ("Estimated hours", "quantity", "number"),
        ],
        8,
    ),
    "milestones": (
        "Milestones",
        [("Milestone", "item", "text"), ("Amount", "amount", "number"), ("Due date", "due", "date")],
        8,
    ),
    "per_batch": (
        "Per batch",
        [
            ("Product or step", "item", "text"),
            ("Price per batch", "rate", "number"),
            ("Batches per year", "per_year", "number"),
            ("Years", "years", "number"),
        ],
        6,
    ),
    "per_campaign": (
        "Per campaign",
        [
            ("Campaign", "item", "text"),
            ("Price per campaign", "rate", "number"),
            ("Batches per campaign", "quantity", "number"),
            ("Campaigns per year", "per_year", "number"),
        ],
        6,
    ),
    "cost_plus": (
        "Cost-plus: cost base and margin",
        [("Cost element", "item", "text"), ("Cost base", "amount", "number"), ("Margin %", "percent", "number")],
        6,
    ),
    "take_or_pay": (
        "Take-or-pay: minimum commitments",
        [
            ("Commitment", "item", "text"),
            ("Minimum quantity per year", "per_year", "number"),
            ("Price per unit", "rate", "number"),
            ("Years", "years", "number"),
        ],
        4,
    ),
    "fees": (
        "Development and technology transfer fees",
        [("Fee", "item", "text"), ("Amount", "amount", "number"), ("Months", "months", "number")],
        4,
    ),
    "pass_through": ("Pass-through costs", [("Item", "item", "text"), ("Estimated amount", "amount", "number")], 6),
}
_KIND_SECTIONS = {
    "CRO": ["fte", "fixed", "time_materials", "milestones", "pass_through"],
    "CMO": ["per_batch", "per_campaign", "cost_plus", "take_or_pay", "fees", "pass_through"],
    "CDMO": ["per_batch", "per_campaign", "cost_plus", "take_or_pay", "fees", "pass_through"],
    "INTEGRATED": [
        "per_batch",
        "per_campaign",
        "cost_plus",
        "take_or_pay",
        "fees",
        "fte",
        "fixed",
        "time_materials",
        "milestones",
        "pass_through",
    ],
}
FEES = ["Development fee", "Technology transfer fee"]
# The lines table (rows COST_FIRST..COST_LAST): column letter -> (PriceLine field, type).
COST_FIRST = 5
COST_LAST = COST_FIRST + COST_LINES - 1
COST_FIELDS = {
    "A": ("item", "text"),
    "B": ("basis", "basis"),
    "C": ("quantity", "number"),
    "D": ("unit", "text"),
    "E": ("rate", "number"),
    "F": ("currency", "currency"),
    "H": ("notes", "text"),
}
MODEL_ROW = COST_LAST + 3  # after the total and a blank row
CURRENCY_ROW = MODEL_ROW + 1


def pricing_layout(kind: str) -> dict:
    """Where the pricing model, the currency and each section's input rows are on the cost sheet."""
    kind = kind if kind in _KIND_SECTIONS else "CDMO"
    row = CURRENCY_ROW + 2
    sections = []
    for key in _KIND_SECTIONS[kind]:
        title, columns, rows = _SECTIONS[key]
        sections.append(
            {"key": key, "title": title, "columns": columns, "title_row": row, "first": row + 2, "last": row + 1 + rows}
        )
        row += rows + 3
    return {
        "kind": kind,
        "models": PRICING_MODELS[kind],
        "model_row": MODEL_ROW,
        "currency_row": CURRENCY_ROW,
        "cost": [COST_FIRST, COST_LAST, sorted(COST_FIELDS)],
        "sections": sections,
    }


def question_set(data: dict) -> list[tuple[int, str, str]]:
    """The questions as the sheet numbers them: grouped by criterion, in the template's order."""
    groups: dict[str, list[str]] = {}
    for item in data["questions"]:
        groups.setdefault(item["criterion"], []).append(item["question"])
    numbered, number = [], 0
    for criterion, questions in groups.items():
        for question in questions:
            number += 1
            numbered.append((number, _text(criterion), _text(question)))
    return numbered


def check_identity(data: dict, packet: Packet | None) -> dict:
    return {
        "rfp": data["rfp"]["reference"],
        "rfp_id": data["rfp"]["id"],
        "vendor": data["values"]["vendor"],
        "kind": pricing_layout(data["template"]["kind"])["kind"],
        "packet_id": packet.pk if packet else "",
        "packet_version": packet.version if packet else "",
    }


def checksum(identity: dict, questions: list, layout: dict) -> str:
    """HMAC-SHA256 (SECRET_KEY) over who the file is for, the question set and the pricing layout."""
    content = {
        "rfp_id": int(identity["rfp_id"]),
        "vendor": str(identity["vendor"]),
        "kind": str(identity["kind"]),
        "packet": [str(identity["packet_id"] or ""), str(identity["packet_version"] or "")],
        "questions": [[int(n), str(c), str(q)] for n, c, q in questions],
        "layout": layout,
    }
    message = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _protect(sheet) -> None:
    """Locked cells (all but the unlocked answer cells); no password: a guide, the checksum guards."""
    sheet.protection.sheet = True
    sheet.protection.formatCells = False
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False


def _list_validation(values: list[str], title: str, error: str, style: str = "stop") -> DataValidation:
    return DataValidation(
        type="list",
        formula1='"' + ",".join(values) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorStyle=style,
        errorTitle=title,
        error=error,
    )


def _number_validation() -> DataValidation:
    return DataValidation(
        type="decimal",
        operator="greaterThanOrEqual",
        formula1="0",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Number",
        error="Give a number of zero or more.",
    )


def _text_validation(length: int) -> DataValidation:
    return DataValidation(
        type="textLength",
        operator="lessThanOrEqual",
        formula1=str(length),
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Text",
        error=f"At most {length} characters.",
    )


def _date_validation() -> DataValidation:
    return DataValidation(
        type="date",
        operator="between",
        formula1="DATE(2000,1,1)",
        formula2="DATE(2100,12,31)",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Date",
        error="Give a date (2000 to 2100).",
    )


def _cost_sheet(book: Workbook, data: dict, layout: dict) -> None:
    cost = data.get("cost") or {"bases": PRICING_BASES["CDMO"], "items": []}
    sheet = book.create_sheet(COST_SHEET)
    sheet.append([_text(f"Cost breakdown — {data['rfp']['reference']}, {data['values']['vendor']}")])
    sheet.append(
        [
            "One line per item: its pricing basis (from the list), quantity, unit, unit price and currency; the "
            "amount is quantity × unit price. Change, add or remove lines as your proposal needs. Below the "
            "total: your pricing model, the currency and the figures of each pricing section."
        ]
    )
    sheet.append([])
    sheet.append(COST_COLUMNS)
    _header(sheet, 4)
    sheet["A1"].font = Font(bold=True, size=13)
    first, last = COST_FIRST, COST_LAST
    basis = _list_validation(cost["bases"], "Pricing basis", "Choose a pricing basis from the list.")
    number = _number_validation()
    # Another currency may be given, after a warning.
    currency = _list_validation(CURRENCIES, "Currency", "Usually one of " + ", ".join(CURRENCIES) + ".", "warning")
    text = _text_validation(LABEL_LENGTH)
    model = _list_validation(layout["models"], "Pricing model", "Choose a pricing model from the list.")
    date = _date_validation()
    for validation in (basis, number, currency, text, model, date):
        sheet.add_data_validation(validation)
    basis.add(f"B{first}:B{last}")
    number.add(f"C{first}:C{last}")
    number.add(f"E{first}:E{last}")
    currency.add(f"F{first}:F{last}")
    for column in "ADH":
        text.add(f"{column}{first}:{column}{last}")
    items = cost["items"][:COST_LINES]
    for row in range(first, last + 1):
        item, suggested = items[row - first] if row - first < len(items) else ("", "")
        sheet.cell(row=row, column=1, value=_text(item) or None)
        sheet.cell(row=row, column=2, value=suggested if suggested in cost["bases"] else None)
        # Our formula, not the vendor's text: the amount of the line once both numbers are in.
        sheet.cell(row=row, column=7, value=f'=IF(AND(ISNUMBER(C{row}),ISNUMBER(E{row})),C{row}*E{row},"")')
        sheet.cell(row=row, column=7).number_format = "#,##0.00"
        sheet.cell(row=row, column=5).number_format = "#,##0.00"
        sheet.cell(row=row, column=1).alignment = Alignment(wrap_text=True, vertical="top")
        for column in COST_FIELDS:
            sheet[f"{column}{row}"].protection = UNLOCKED
    total = last + 1
    sheet.cell(row=total, column=1, value="Total").font = Font(bold=True)
    sheet.cell(row=total, column=7, value=f"=SUM(G{first}:G{last})").font = Font(bold=True)
    sheet.cell(row=total, column=7).number_format = "#,##0.00"
    sheet.cell(row=layout["model_row"], column=1, value="Pricing model").font = Font(bold=True)
    sheet.cell(row=layout["currency_row"], column=1, value="Currency of all amounts below").font = Font(bold=True)
    model.add(f"B{layout['model_row']}")
    currency.add(f"B{layout['currency_row']}")
    for row in (layout["model_row"], layout["currency_row"]):
        sheet.cell(row=row, column=2).protection = UNLOCKED
    for section in layout["sections"]:
        sheet.cell(row=section["title_row"], column=1, value=section["title"]).font = Font(bold=True, size=12)
        header = section["title_row"] + 1
        for index, (title, _field, _kind) in enumerate(section["columns"], start=1):
            sheet.cell(row=header, column=index, value=title)
        _header(sheet, header)
        for row in range(section["first"], section["last"] + 1):
            for index, (_title, _field, kind) in enumerate(section["columns"], start=1):
                letter = get_column_letter(index)
                {"text": text, "number": number, "date": date}[kind].add(f"{letter}{row}")
                cell = sheet.cell(row=row, column=index)
                cell.protection = UNLOCKED
                if kind == "date":
                    cell.number_format = "yyyy-mm-dd"
                elif kind == "number":
                    cell.number_format = "#,##0.00"
        if section["key"] == "fees":
            for offset, fee in enumerate(FEES):
                sheet.cell(row=section["first"] + offset, column=1, value=fee)
    for column, width in zip("ABCDEFGH", (48, 24, 12, 14, 16, 12, 18, 48), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A5"
    _protect(sheet)


# --- The bundle ---------------------------------------------------------------------------------------


def bundle(files: list[tuple[str, bytes]], generated_at: datetime) -> bytes:
    """A ZIP of the files, each entry dated `generated_at` in local time (what an unzip shows). The
    packet is reused or not by its inputs' hash, not by these bytes."""
    stamp = timezone.localtime(generated_at) if timezone.is_aware(generated_at) else generated_at
    date_time = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files:
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def file_stem(packet: Packet) -> str:
    vendor = re.sub(r"[^A-Za-z0-9]+", "-", packet.candidate.vendor.name).strip("-")[:60] or "vendor"
    return f"RFP-{packet.rfp_id:05d}-{vendor}-v{packet.version}"
