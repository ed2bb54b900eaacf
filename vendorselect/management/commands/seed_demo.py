"""Idempotent, fictional demo data: one user per role and a register of 44 vendors.

In the project package (the top layer) because it spans every app.

Every vendor, site and inspection is keyed on a natural key (vendor name, site name,
inspection source id), so running the command again updates rather than duplicates.
"""

import random
from datetime import date, timedelta
from decimal import Decimal

from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import roles
from audits.models import Audit
from core import trail
from rfp import bidding
from scoring import program, selectors
from scoring import services as scoring_services
from scoring.models import Evaluation, KnockoutRule
from vendors.models import (
    DosageForm,
    Kind,
    Modality,
    Phase,
    RegulatoryInspection,
    Service,
    Site,
    Vendor,
    WarningLetter,
)
from vendorselect import builders

# user name, first name, last name, roles
DEMO_USERS = [
    ("lead", "Priya", "Raman", [roles.PROCUREMENT_LEAD]),
    ("evaluator", "Tomás", "Okafor", [roles.EVALUATOR]),
    ("evaluator2", "Hannah", "Lindqvist", [roles.EVALUATOR]),
    ("auditor", "Marcus", "Feld", [roles.AUDITOR]),
    ("manager", "Elena", "Vasquez", [roles.MANAGER]),
    ("qa-manager", "Kenji", "Watanabe", [roles.QA]),
    ("admin", "Sam", "Admin", [roles.ADMIN]),
]


def demo_password(username: str) -> str:
    return f"{username.capitalize()}-Demo-2026"


# name, kinds, headquarters country, profile
VENDORS = [
    ("Alderbrook Biologics", ["CDMO"], "US", "biologics"),
    ("Kestrel Clinical Research", ["CRO"], "US", "clinical"),
    ("Novaterra Pharma Services", ["CDMO", "CRO"], "DE", "integrated"),
    ("Meridian Fine Chemicals", ["CMO"], "IN", "api"),
    ("Bluefjord Analytics", ["CRO"], "NO", "chemistry"),
    ("Castellane Sterile Solutions", ["CMO"], "FR", "sterile"),
    ("Helix Ridge Therapeutics Manufacturing", ["CDMO"], "US", "cgt"),
    ("Sakura Process Chemistry", ["CDMO"], "JP", "api"),
    ("Lindenhof Clinical", ["CRO"], "CH", "clinical"),
    ("Tamarind Generics Manufacturing", ["CMO"], "IN", "oral"),
    ("Quillon Peptide Works", ["CDMO"], "CH", "peptide"),
    ("Oakhaven Toxicology", ["CRO"], "GB", "preclinical"),
    ("Pacifica BioFill", ["CMO"], "US", "sterile"),
    ("Zhenhai Pharmatech", ["CDMO"], "CN", "api"),
    ("Corvid Oligo Sciences", ["CDMO"], "US", "oligo"),
    ("Riverbend Formulation Labs", ["CRO"], "US", "formulation"),
    ("Valmont Pharma Industriel", ["CMO"], "FR", "oral"),
    ("Aurelia Vaccines Contract Services", ["CDMO"], "BE", "vaccine"),
    ("Nordlicht Biopharma", ["CDMO"], "DE", "biologics"),
    ("Sentinel Bioanalytical", ["CRO"], "US", "preclinical"),
    ("Greystone Inhalation Technologies", ["CDMO"], "GB", "inhaled"),
    ("Ishikari Fine Pharma", ["CMO"], "JP", "oral"),
    ("Monsoon Clinical Operations", ["CRO"], "IN", "clinical"),
    ("Brightwater Cell Therapy Services", ["CDMO"], "GB", "cgt"),
    ("Ferrovia Chemical Development", ["CDMO", "CRO"], "IT", "integrated"),
    ("Halcyon Topicals", ["CMO"], "IE", "topical"),
    ("Everline Data Sciences", ["CRO"], "CA", "clinical"),
    ("Kappa Sterile Fill Korea", ["CMO"], "KR", "sterile"),
    ("Marigold API Industries", ["CMO"], "IN", "api"),
    ("Silverpine Discovery Chemistry", ["CRO"], "CN", "chemistry"),
    ("Atlas Integrated Pharma Partners", ["CDMO", "CRO"], "US", "integrated"),
    ("Solace Ophthalmic Manufacturing", ["CMO"], "IE", "ophthalmic"),
    ("Trillium Bioprocess", ["CDMO"], "CA", "biologics"),
    ("Westmark Packaging & Clinical Supply", ["CMO"], "NL", "packaging"),
    ("Obsidian Peptides", ["CMO"], "CN", "peptide"),
    ("Rhein-Main Analytik", ["CRO"], "DE", "chemistry"),
    ("Coralbay Clinical Research Asia", ["CRO"], "SG", "clinical"),
    ("Verdant Transdermal Systems", ["CDMO"], "US", "transdermal"),
    ("Polaris Gene Vector Manufacturing", ["CDMO"], "NL", "cgt"),
    ("Granite State Oral Solids", ["CMO"], "US", "oral"),
    ("Saltire Pharmaceutical Development", ["CRO"], "GB", "formulation"),
    ("Jade River Biologics", ["CDMO"], "CN", "biologics"),
    ("Eastgate Sterile Injectables", ["CMO"], "IT", "sterile"),
    ("Lumen Phase I Unit", ["CRO"], "BE", "clinical"),
]

PROFILES = {
    # services, modalities, dosage forms, phases, regime, (scale unit, min range, max range)
    "biologics": (
        [
            "cell-line-development",
            "process-development",
            "scale-up",
            "technology-transfer",
            "api-manufacturing",
            "clinical-trial-materials",
            "commercial-manufacturing",
            "release-testing",
            "stability-testing",
        ],
        ["biologic-mab"],
        ["biologic-drug-substance", "sterile-injectable"],
        ["preclinical", "phase-1", "phase-2", "phase-3", "commercial"],
        "cGMP",
        ("L", (50, 500), (2000, 20000)),
    ),
    "clinical": (
        [
            "clinical-trial-planning",
            "site-selection-start-up",
            "patient-recruitment",
            "clinical-monitoring",
            "data-management",
            "biostatistics",
            "medical-writing",
            "project-management",
            "regulatory-affairs",
        ],
        ["small-molecule", "biologic-mab", "vaccine"],
        [],
        ["phase-1", "phase-2", "phase-3", "commercial"],
        "GCP",
        None,
    ),
    "integrated": (
        [
            "route-scouting",
            "process-research",
            "analytical-method-development",
            "process-development",
            "scale-up",
            "technology-transfer",
            "process-validation",
            "api-manufacturing",
            "drug-product-manufacturing",
            "clinical-trial-materials",
            "clinical-monitoring",
            "data-management",
            "cmc-regulatory-writing",
        ],
        ["small-molecule", "peptide"],
        ["oral-solid", "sterile-injectable"],
        ["preclinical", "phase-1", "phase-2", "phase-3", "commercial"],
        "cGMP",
        ("L", (20, 100), (4000, 12000)),
    ),
    "api": (
        [
            "process-development",
            "process-optimization",
            "scale-up",
            "technology-transfer",
            "process-validation",
            "api-manufacturing",
            "registration-batches",
            "commercial-manufacturing",
            "dmf-filing",
            "stability-testing",
        ],
        ["small-molecule"],
        ["oral-solid"],
        ["phase-2", "phase-3", "commercial"],
        "cGMP",
        ("L", (100, 1000), (4000, 16000)),
    ),
    "chemistry": (
        ["route-scouting", "medicinal-chemistry", "process-research", "analytical-method-development"],
        ["small-molecule", "peptide"],
        [],
        ["discovery", "preclinical", "phase-1"],
        "GLP",
        ("g", (1, 10), (500, 5000)),
    ),
    "sterile": (
        [
            "fill-finish",
            "drug-product-manufacturing",
            "clinical-trial-materials",
            "commercial-manufacturing",
            "release-testing",
            "packaging-labelling",
            "process-validation",
        ],
        ["biologic-mab", "small-molecule", "peptide"],
        ["sterile-injectable"],
        ["phase-1", "phase-2", "phase-3", "commercial"],
        "cGMP",
        ("L", (5, 50), (500, 3000)),
    ),
    "cgt": (
        [
            "process-development",
            "technology-transfer",
            "clinical-trial-materials",
            "release-testing",
            "qualified-person-release",
        ],
        ["cell-gene-therapy"],
        ["sterile-injectable"],
        ["preclinical", "phase-1", "phase-2"],
        "cGMP",
        ("L", (1, 10), (50, 500)),
    ),
    "oral": (
        [
            "formulation-development",
            "drug-product-manufacturing",
            "registration-batches",
            "commercial-manufacturing",
            "packaging-labelling",
            "stability-testing",
        ],
        ["small-molecule"],
        ["oral-solid", "oral-liquid"],
        ["phase-3", "commercial"],
        "cGMP",
        ("kg", (10, 100), (1000, 5000)),
    ),
    "peptide": (
        ["process-development", "scale-up", "api-manufacturing", "analytical-method-development", "dmf-filing"],
        ["peptide"],
        ["sterile-injectable"],
        ["preclinical", "phase-1", "phase-2", "phase-3", "commercial"],
        "cGMP",
        ("kg", (0.1, 1), (20, 200)),
    ),
    "preclinical": (
        ["preclinical-toxicology", "pk-pd-studies", "analytical-method-development", "medical-writing"],
        ["small-molecule", "biologic-mab", "oligonucleotide"],
        [],
        ["discovery", "preclinical"],
        "GLP",
        None,
    ),
    "oligo": (
        [
            "process-development",
            "scale-up",
            "api-manufacturing",
            "analytical-method-development",
            "clinical-trial-materials",
        ],
        ["oligonucleotide"],
        ["sterile-injectable"],
        ["preclinical", "phase-1", "phase-2", "phase-3"],
        "cGMP",
        ("kg", (0.05, 0.5), (10, 100)),
    ),
    "formulation": (
        ["formulation-research", "formulation-development", "analytical-method-development", "stability-testing"],
        ["small-molecule", "peptide"],
        ["oral-solid", "topical", "inhaled"],
        ["preclinical", "phase-1", "phase-2"],
        "GLP",
        ("g", (10, 100), (1000, 10000)),
    ),
    "vaccine": (
        [
            "process-development",
            "scale-up",
            "api-manufacturing",
            "fill-finish",
            "release-testing",
            "qualified-person-release",
        ],
        ["vaccine"],
        ["sterile-injectable"],
        ["phase-1", "phase-2", "phase-3", "commercial"],
        "cGMP",
        ("L", (50, 200), (1000, 6000)),
    ),
    "inhaled": (
        ["formulation-development", "drug-product-manufacturing", "clinical-trial-materials", "stability-testing"],
        ["small-molecule", "biologic-mab"],
        ["inhaled"],
        ["phase-1", "phase-2", "phase-3", "commercial"],
        "cGMP",
        ("kg", (1, 10), (200, 1000)),
    ),
    "topical": (
        ["formulation-development", "drug-product-manufacturing", "commercial-manufacturing", "packaging-labelling"],
        ["small-molecule"],
        ["topical", "transdermal"],
        ["phase-2", "phase-3", "commercial"],
        "cGMP",
        ("kg", (20, 200), (1000, 4000)),
    ),
    "ophthalmic": (
        ["fill-finish", "drug-product-manufacturing", "commercial-manufacturing", "release-testing"],
        ["small-molecule", "biologic-mab"],
        ["ophthalmic", "sterile-injectable"],
        ["phase-3", "commercial"],
        "cGMP",
        ("L", (50, 200), (1000, 5000)),
    ),
    "packaging": (
        ["packaging-labelling", "clinical-trial-materials", "qualified-person-release"],
        ["small-molecule", "biologic-mab"],
        ["oral-solid", "sterile-injectable"],
        ["phase-1", "phase-2", "phase-3", "commercial"],
        "cGMP",
        None,
    ),
    "transdermal": (
        ["formulation-development", "scale-up", "drug-product-manufacturing", "commercial-manufacturing"],
        ["small-molecule"],
        ["transdermal", "topical"],
        ["phase-2", "phase-3", "commercial"],
        "cGMP",
        ("kg", (5, 50), (500, 2000)),
    ),
}

SITE_CITIES = {
    "US": ["Durham, NC", "Boston, MA", "San Diego, CA", "Indianapolis, IN"],
    "DE": ["Frankfurt", "Marburg", "Ludwigshafen"],
    "IN": ["Hyderabad", "Ahmedabad", "Bengaluru"],
    "NO": ["Oslo"],
    "FR": ["Lyon", "Compiègne"],
    "JP": ["Osaka", "Toyama"],
    "CH": ["Basel", "Visp"],
    "GB": ["Cambridge", "Macclesfield", "Edinburgh"],
    "CN": ["Shanghai", "Wuxi", "Suzhou"],
    "BE": ["Ghent", "Brussels"],
    "IT": ["Milan", "Latina"],
    "IE": ["Cork", "Dublin"],
    "CA": ["Montréal", "Toronto"],
    "KR": ["Incheon", "Osong"],
    "NL": ["Leiden", "Nijmegen"],
    "SG": ["Singapore"],
}
AGENCY_BY_COUNTRY = {"US": "FDA", "GB": "MHRA", "JP": "PMDA"}
EU = {"DE", "FR", "BE", "IT", "IE", "NL", "NO"}


class Command(BaseCommand):
    help = "Load idempotent demo data: one user per role and a realistic fictional vendor register."

    def handle(self, *args, **options):
        with transaction.atomic(), trail.context(command="seed_demo"):
            self.ensure_reference_data()
            self.seed_users()
            self.seed_register()
            self.seed_audits()
            self.seed_evaluation()
            self.seed_shortlist()
            self.seed_biologics_program()
            self.seed_rfp()
            self.seed_award()
            self.seed_oversight()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {Vendor.objects.count()} vendors, "
                f"{Site.objects.count()} sites, "
                f"{RegulatoryInspection.objects.count()} inspections."
            )
        )
        for username, *_ in DEMO_USERS:
            self.stdout.write(f"  {username:<11} {demo_password(username)}")

    def ensure_reference_data(self):
        """Roles, grants, vocabularies and RFP templates (each app's reference.py, which its migrations
        also call); re-applied idempotently so the demo also loads into a database that was flushed
        after migrating."""
        from accounts import reference as accounts_reference
        from audits import reference as audits_reference
        from oversight import performance_defaults
        from rfp import reference as rfp_reference
        from scoring import reference as scoring_reference
        from vendors import reference as vendors_reference

        for load in (
            accounts_reference.load,
            vendors_reference.load,
            scoring_reference.load,
            audits_reference.load,
            rfp_reference.load,
            performance_defaults.load,
        ):
            load(django_apps)

    def seed_users(self):
        User = get_user_model()
        for username, first, last, role_names in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username)
            user.first_name, user.last_name = first, last
            user.email = f"{username}@demo.vendorselect.test"
            user.is_staff = roles.ADMIN in role_names
            user.set_password(demo_password(username))
            user.save()
            user.groups.set(Group.objects.filter(name__in=role_names))

    def seed_register(self):
        terms = {
            model: {term.code: term for term in model.objects.all()}
            for model in (Kind, Service, Modality, DosageForm, Phase)
        }
        rng = random.Random(20261121)
        today = date.today()
        statuses = [s for s, _ in Vendor.Status.choices]
        for index, (name, kinds, country, profile) in enumerate(VENDORS):
            services, modalities, forms, phases, regime, scale = PROFILES[profile]
            vendor, _ = Vendor.objects.update_or_create(
                name=name,
                defaults={
                    "legal_name": f"{name} {self.legal_suffix(country)}",
                    "country": country,
                    "website": "https://" + name.lower().replace("&", "and").replace(" ", "-")[:40] + ".example",
                    "description": self.description(name, profile),
                    "status": statuses[index % len(statuses)] if index % 7 else Vendor.Status.APPROVED,
                },
            )
            vendor.kinds.set([terms[Kind][k] for k in kinds])
            vendor.services.set([terms[Service][s] for s in services])
            vendor.modalities.set([terms[Modality][m] for m in modalities])
            vendor.dosage_forms.set([terms[DosageForm][f] for f in forms])
            vendor.phases.set([terms[Phase][p] for p in phases])
            vendor.contacts.update_or_create(
                name=f"Business development, {name.split()[0]}",
                defaults={
                    "title": "Business development director",
                    "email": f"bd@{name.split()[0].lower()}.example",
                    "phone": "+1 555 0100",
                },
            )
            self.seed_sites(vendor, country, profile, regime, scale, services, terms, rng, today, index)

    def seed_sites(self, vendor, country, profile, regime, scale, services, terms, rng, today, index):
        site_countries = [country]
        if index % 3 == 0:
            site_countries.append(["US", "IE", "SG", "DE", "IN", "KR"][index % 6])
        for number, site_country in enumerate(site_countries, start=1):
            city = SITE_CITIES[site_country][(index + number) % len(SITE_CITIES[site_country])]
            unit, low, high = scale or (None, None, None)
            defaults = {
                "address": f"{10 + index * 7} Science Park Road\n{city}",
                "country": site_country,
                "quality_regime": regime,
                "fei_number": str(3000100000 + index * 10 + number) if regime == "cGMP" else "",
                "scale_unit": unit or "",
                "scale_min": Decimal(str(low[number % 2])) if unit else None,
                "scale_max": Decimal(str(high[number % 2])) if unit else None,
                "certifications": "ISO 9001:2015" + ("\nEU GMP certificate" if regime == "cGMP" else ""),
            }
            site, _ = Site.objects.update_or_create(vendor=vendor, name=f"{city.split(',')[0]} site", defaults=defaults)
            site.capabilities.set([terms[Service][s] for s in services[: 3 + number]])
            self.seed_inspections(site, site_country, regime, rng, today, index, number)

    def seed_inspections(self, site, country, regime, rng, today, index, number):
        agency = AGENCY_BY_COUNTRY.get(country, "EMA" if country in EU else "FDA")
        count = 1 + (index + number) % 4
        for n in range(count):
            end = today - timedelta(days=120 + n * 420 + rng.randint(0, 90))
            roll = rng.random()
            # A few vendors carry a poor record, so the evidence scores have something to say.
            troubled = index % 9 == 4
            if troubled and n == 0:
                classification, observations, letter = "OAI", rng.randint(6, 12), index % 2 == 0
            elif roll < 0.55:
                classification, observations, letter = "NAI", 0, False
            elif roll < 0.92:
                classification, observations, letter = "VAI", rng.randint(1, 5), False
            else:
                classification, observations, letter = "OAI", rng.randint(4, 9), False
            if agency != "FDA":
                observations = 0
            RegulatoryInspection.objects.update_or_create(
                source=RegulatoryInspection.Source.MANUAL
                if agency != "FDA"
                else RegulatoryInspection.Source.FDA_DASHBOARD,
                source_id=f"DEMO-{site.pk}-{n}",
                defaults={
                    "site": site,
                    "agency": agency,
                    "end_date": end,
                    "classification": classification,
                    "form_483_observations": observations,
                    "warning_letter": letter,
                    "agency_classification": {
                        "NAI": "No action indicated",
                        "VAI": "Voluntary action indicated",
                        "OAI": "Official action indicated",
                    }[classification]
                    if agency == "FDA"
                    else {
                        "NAI": "GMP certificate issued",
                        "VAI": "Compliant with observations",
                        "OAI": "Statement of non-compliance",
                    }[classification],
                    "notes": "Warning letter issued after the inspection." if letter else "",
                },
            )

    def seed_audits(self):
        """Two completed audits: one clean, one with a major finding whose CAPA is overdue."""
        auditor = get_user_model().objects.get(username="auditor")
        today = date.today()
        plans = [
            ("Quillon Peptide Works", []),
            (
                "Novaterra Pharma Services",
                [
                    (
                        "major",
                        "deviations_capa",
                        "Deviation investigations closed without root cause analysis.",
                        "21 CFR 211.192",
                        -20,
                    )
                ],
            ),
        ]
        for vendor_name, findings in plans:
            site = Site.objects.filter(vendor__name=vendor_name).order_by("name").first()
            if site is None or Audit.objects.filter(site=site).exists():
                continue
            builders.audit_with_findings(
                site=site,
                auditor=auditor,
                type="qualification",
                planned_start=today - timedelta(days=60),
                planned_end=today - timedelta(days=58),
                started_on=today - timedelta(days=60),
                ended_on=today - timedelta(days=58),
                scope=["quality_management", "deviations_capa", "data_integrity"],
                findings=[
                    {
                        "severity": severity,
                        "area": area,
                        "description": text,
                        "regulation_reference": reference,
                        "capa_due_date": today + timedelta(days=due_in),
                        "confirm_past_due_date": due_in < 0,  # an overdue CAPA, on purpose
                    }
                    for severity, area, text, reference, due_in in findings
                ],
            )

    def seed_evaluation(self):
        """One evaluation in scoring: AHP weights, a red-flag gate, one evaluator submitted, one halfway."""
        name = "Peptide API for Phase II/III (demo)"
        if Evaluation.objects.filter(name=name).exists():
            return
        User = get_user_model()
        lead = User.objects.get(username="lead")
        evaluators = list(User.objects.filter(username__in=["evaluator", "evaluator2"]).order_by("username"))
        evaluation = scoring_services.evaluation_create(
            lead=lead,
            name=name,
            evaluators=evaluators,
            description="GLP-1 analogue: solid-phase synthesis, process development and clinical supply, "
            "with a partner able to scale to launch volumes.",
            modality=Modality.objects.get(code="peptide"),
            phase=Phase.objects.get(code="phase-2"),
            required_services=list(
                Service.objects.filter(code__in=["process-development", "scale-up", "api-manufacturing"])
            ),
            allowed_kinds=list(Kind.objects.filter(code__in=["CDMO", "CMO"])),
            target_agencies=["FDA", "EMA"],
            scale_unit="kg",
            scale_min=Decimal("1"),
            scale_max=Decimal("10"),
            launch_scale=Decimal("100"),
        )
        # Scope fit and regulatory record matter most; cultural fit least (CR well below 0.10).
        pairwise = [
            [1, 1, 2, 3, 1, 5],
            [1, 1, 2, 3, 1, 5],
            [1 / 2, 1 / 2, 1, 2, 1 / 2, 3],
            [1 / 3, 1 / 3, 1 / 2, 1, 1 / 3, 2],
            [1, 1, 2, 3, 1, 5],
            [1 / 5, 1 / 5, 1 / 3, 1 / 2, 1 / 5, 1],
        ]
        scoring_services.weights_set_ahp(evaluation=evaluation, user=lead, pairwise=pairwise)
        # The default gates with a five-year red-flag window, the scale gate off with the lead's reason.
        scoring_services.knockout_rule_set(
            evaluation=evaluation,
            user=lead,
            rules=dict.fromkeys(set(KnockoutRule.DEFAULT_ON) - {KnockoutRule.Rule.SCALE_RANGE}, 5),
            reason="Peptide vendors quote reactor volumes (L), not kg of API: scale is asked in the RFP and "
            "scored under scale flexibility instead.",
        )
        candidates = [
            scoring_services.candidate_add(evaluation=evaluation, user=lead, vendor=Vendor.objects.get(name=vendor))
            for vendor in [
                "Quillon Peptide Works",
                "Obsidian Peptides",
                "Novaterra Pharma Services",
                "Ferrovia Chemical Development",
                "Sakura Process Chemistry",
                "Zhenhai Pharmatech",
                "Atlas Integrated Pharma Partners",
            ]
        ]
        evaluation = scoring_services.evaluation_transition(evaluation=evaluation, user=lead, action="start_scoring")
        judged = list(evaluation.criteria.filter(evidence=""))
        # Like a real panel: each vendor stronger on some criteria, a lenient and a harsh evaluator.
        value = builders.realistic_scores([4.2, 3.3, 3.8, 2.6, 3.0, 2.2, 3.5], seed="peptide-0")
        for number, evaluator in enumerate(evaluators):
            cells = [(index, c, k) for index, c in enumerate(candidates) for k in judged]
            if number == 1:
                cells = cells[: len(cells) // 2]
            for index, candidate, criterion in cells:
                scoring_services.score_save(
                    evaluation=evaluation,
                    user=evaluator,
                    candidate_id=candidate.pk,
                    criterion_id=criterion.pk,
                    value=value(number, index, criterion),
                    rationale="",
                )
            if number == 0:
                scoring_services.evaluator_submit(evaluation=evaluation, user=evaluator)

    def seed_shortlist(self):
        """A second evaluation, fully scored and in review, whose shortlist awaits two signatures
        (procurement manager and QA head): what a manager's home shows first."""
        name = "Sterile fill-finish for Phase I (demo)"
        if Evaluation.objects.filter(name=name).exists():
            return
        User = get_user_model()
        lead = User.objects.get(username="lead")
        evaluators = list(User.objects.filter(username__in=["evaluator", "evaluator2"]).order_by("username"))
        vendors = [
            "Castellane Sterile Solutions",
            "Pacifica BioFill",
            "Kappa Sterile Fill Korea",
            "Eastgate Sterile Injectables",
        ]

        # By vendor, the first two best; the evaluators agree broadly, not exactly (Kendall's W < 1).
        value = builders.realistic_scores([4.3, 3.8, 3.2, 2.7], seed="fill")

        evaluation, _ = builders.reviewed_evaluation(
            lead=lead,
            evaluators=evaluators,
            vendors=[Vendor.objects.get(name=vendor) for vendor in vendors],
            name=name,
            scores=value,
            description="Aseptic fill-finish of a lyophilised peptide in vials for the first-in-human study.",
            dosage_form=DosageForm.objects.get(code="sterile-injectable"),
            modality=Modality.objects.get(code="peptide"),
            required_services=list(Service.objects.filter(code__in=["fill-finish", "drug-product-manufacturing"])),
            phase=Phase.objects.get(code="phase-1"),
            target_agencies=["FDA", "EMA"],
            qa_approval_required=True,
        )
        ranking = selectors.ranking(evaluation, lead)
        builders.submitted_shortlist(
            evaluation=evaluation,
            proposer=lead,
            candidates=[row.candidate for row in ranking.rows if row.rank is not None][:2],
            rationale="The two best-ranked sites; both have EU and US sterile approvals on record.",
            required_approvals=2,
        )

    def seed_biologics_program(self):
        """A biologics program judged at the sites each candidate would use: mAb drug substance at
        2,000 L and aseptic fill-finish. The default gates knock out a recent OAI, fill-finish only at a
        GLP lab, no fill-finish at all and a 500 L ceiling; a warning letter at an unrelated tablet plant
        is shown as a warning, not a gate."""
        name = "Phase II mAb: 2,000 L drug substance and aseptic fill-finish (demo)"
        if Evaluation.objects.filter(name=name).exists():
            return
        today = date.today()
        mab = ["api-manufacturing", "cell-line-development", "process-development"]
        fill = ["drug-product-manufacturing", "fill-finish"]
        # vendor, country, [(site, country, regime, (low, high) litres or None, services, inspection)]
        program_vendors = [
            (
                "Arcadia Biologics",
                "US",
                [
                    ("Arcadia mAb campus", "US", "cGMP", (500, 4000), mab, ("FDA", "NAI", 420)),
                    ("Arcadia fill-finish centre", "US", "cGMP", None, fill, ("FDA", "NAI", 610)),
                    ("Arcadia tablet plant", "IN", "cGMP", None, ["drug-product-manufacturing"], ("FDA", "VAI", 500)),
                ],
            ),
            (
                "Borealis Biomanufacturing",
                "DE",
                [
                    ("Borealis Leipzig campus", "DE", "cGMP", (1000, 5000), mab, ("FDA", "OAI", 300)),
                    ("Borealis sterile suite", "DE", "cGMP", None, fill, ("EMA", "NAI", 700)),
                ],
            ),
            (
                "Cobalt Bioservices",
                "US",
                [
                    ("Cobalt bioreactor hall", "US", "cGMP", (500, 3000), mab, ("FDA", "NAI", 380)),
                    ("Cobalt aseptic development lab", "US", "GLP", None, fill, None),
                ],
            ),
            (
                "Delphine Biologics",
                "FR",
                [
                    ("Delphine Lyon campus", "FR", "cGMP", (2000, 2000), mab, ("EMA", "NAI", 450)),
                    ("Delphine vial packaging plant", "FR", "cGMP", None, ["drug-product-manufacturing"], None),
                ],
            ),
            (
                "Evergreen Cell Culture",
                "CA",
                [
                    ("Evergreen pilot plant", "CA", "cGMP", (50, 500), mab, ("FDA", "NAI", 520)),
                    ("Evergreen fill line", "CA", "cGMP", None, fill, ("FDA", "NAI", 520)),
                ],
            ),
        ]
        services = {s.code: s for s in Service.objects.all()}
        vendors = []
        for vendor_name, country, sites in program_vendors:
            vendor, _ = Vendor.objects.update_or_create(
                name=vendor_name,
                defaults={
                    "legal_name": f"{vendor_name} {self.legal_suffix(country)}",
                    "country": country,
                    "description": self.description(vendor_name, "biologics"),
                    "status": Vendor.Status.UNDER_QUALIFICATION,
                },
            )
            vendor.kinds.set(Kind.objects.filter(code="CDMO"))
            vendor.modalities.set(Modality.objects.filter(code="biologic-mab"))
            vendor.dosage_forms.set(
                DosageForm.objects.filter(code__in=["biologic-drug-substance", "sterile-injectable"])
            )
            vendor.phases.set(Phase.objects.filter(code__in=["phase-1", "phase-2", "phase-3"]))
            vendor.services.set([services[c] for c in {c for *_, codes, _ in sites for c in codes}])
            for site_name, site_country, regime, litres, codes, inspection in sites:
                site, _ = Site.objects.update_or_create(
                    vendor=vendor,
                    name=site_name,
                    defaults={
                        "country": site_country,
                        "quality_regime": regime,
                        "scale_unit": "L" if litres else "",
                        "scale_min": Decimal(litres[0]) if litres else None,
                        "scale_max": Decimal(litres[1]) if litres else None,
                    },
                )
                site.capabilities.set([services[c] for c in codes])
                if inspection:
                    agency, outcome, days = inspection
                    RegulatoryInspection.objects.update_or_create(
                        source=RegulatoryInspection.Source.MANUAL,
                        source_id=f"demo-{site_name.lower().replace(' ', '-')}"[:60],
                        defaults={
                            "site": site,
                            "agency": agency,
                            "end_date": today - timedelta(days=days),
                            "classification": outcome,
                            "inspection_type": "surveillance",
                            "form_483_observations": (2 if outcome != "NAI" else 0) if agency == "FDA" else None,
                        },
                    )
            vendors.append(vendor)
        tablets = Site.objects.get(name="Arcadia tablet plant")
        WarningLetter.objects.get_or_create(
            site=tablets,
            reference="320-26-014",
            defaults={"issued_on": today - timedelta(days=150), "subject": "CGMP/Finished pharmaceuticals/Adulterated"},
        )
        User = get_user_model()
        lead = User.objects.get(username="lead")
        evaluation = scoring_services.evaluation_create(
            lead=lead,
            name=name,
            evaluators=list(User.objects.filter(username__in=["evaluator", "evaluator2"]).order_by("username")),
            description="Humanised IgG1 for a Phase II study: fed-batch drug substance at 2,000 L, then aseptic "
            "fill-finish of a liquid formulation in vials; FDA and EU filings.",
            modality=Modality.objects.get(code="biologic-mab"),
            phase=Phase.objects.get(code="phase-2"),
            target_agencies=["FDA", "EMA"],
            needed_by=today + timedelta(days=270),
        )
        program.step_add(
            evaluation=evaluation,
            user=lead,
            step="drug_substance",
            dosage_form="biologic-drug-substance",
            services=["api-manufacturing"],
            scale_unit="L",
            scale_min="2000",
            scale_max="2000",
            launch_scale="2000",
            volume_note="4 batches a year in Phase II, 10 at launch",
        )
        program.step_add(
            evaluation=evaluation,
            user=lead,
            step="drug_product",
            dosage_form="sterile-injectable",
            services=fill,
            volume_note="20,000 vials a year in Phase II",
        )
        for vendor in vendors:
            scoring_services.candidate_add(evaluation=evaluation, user=lead, vendor=vendor)

    def seed_rfp(self):
        """An oral solid dose program with an approved shortlist and its RFP in the supplier portal:
        both chosen vendors invited, one has submitted (sealed until the lead and the manager open
        it after the due date), one question answered to every vendor."""
        name = "Oral tablets for Phase III and launch (demo)"
        if Evaluation.objects.filter(name=name).exists():
            return
        User = get_user_model()
        lead, manager = User.objects.get(username="lead"), User.objects.get(username="manager")
        evaluators = list(User.objects.filter(username__in=["evaluator", "evaluator2"]).order_by("username"))
        vendors = ["Granite State Oral Solids", "Valmont Pharma Industriel", "Ishikari Fine Pharma"]
        evaluation, _ = builders.reviewed_evaluation(
            lead=lead,
            evaluators=evaluators,
            vendors=[Vendor.objects.get(name=vendor) for vendor in vendors],
            name=name,
            scores=builders.realistic_scores([4.1, 3.7, 2.9], seed="tablets"),
            description="Film-coated immediate-release tablets of a small-molecule kinase inhibitor: Phase III "
            "supply, then commercial manufacture for the US and EU.",
            dosage_form=DosageForm.objects.get(code="oral-solid"),
            modality=Modality.objects.get(code="small-molecule"),
            required_services=list(
                Service.objects.filter(
                    code__in=["drug-product-manufacturing", "packaging-labelling", "stability-testing"]
                )
            ),
            phase=Phase.objects.get(code="phase-3"),
            target_agencies=["FDA", "EMA"],
        )
        ranking = selectors.ranking(evaluation, lead)
        shortlist = builders.approved_shortlist(
            evaluation=evaluation,
            proposer=lead,
            approvers=[manager],
            candidates=[row.candidate for row in ranking.rows if row.rank is not None][:2],
            password=lambda user: demo_password(user.username),
            rationale="The two best-ranked oral solid dose sites; both inspected by FDA and an EU authority.",
        )
        today = date.today()
        rfp = builders.rfp_for(
            shortlist,
            lead,
            title="RFP: oral tablets for Phase III and launch",
            sponsor="Helix Therapeutics",
            program_background="Kinase inhibitor, film-coated tablets (25 mg and 100 mg).",
            issue_date=today - timedelta(days=5),
            questions_due=today + timedelta(days=9),
            proposal_due=today + timedelta(days=25),
            contact_name="Priya Raman",
            contact_email="priya.raman@helix.example",
            co_opener=manager,
        )
        invitations = []
        for candidate in bidding.invitable_candidates(rfp):
            contact = candidate.vendor.contacts.exclude(email="").first()
            invitations.append(
                bidding.invite(
                    rfp=rfp,
                    user=lead,
                    candidate_id=candidate.pk,
                    contact_id=contact.pk if contact else None,
                    name="" if contact else "Bid manager",
                    email="" if contact else f"bids@{candidate.pk}.example",
                )
            )
        first = invitations[0]
        question = bidding.question_ask(
            invitation=first, question="May the 100 mg strength be a dose-proportional blend of the 25 mg?"
        )
        bidding.question_answer(
            question=question,
            user=lead,
            answer="Yes: both strengths come from one common blend; quote the compression of each separately.",
        )
        builders.sealed_proposal(first, name="Technical and commercial proposal.pdf")

    def seed_award(self):
        """A second oral solid program carried through to the end: its RFP's two proposals came back
        through the portal with filled questionnaires priced per batch (in USD) and cost-plus (in EUR),
        were opened by the lead and the manager, compared over a five-year horizon, and the award to the
        best-ranked vendor is approved; the award and regret notices go to the workers."""
        name = "Oral tablets: second commercial source (awarded demo)"
        if Evaluation.objects.filter(name=name).exists():
            return
        from rfp.models import ExchangeRate, ProgramHorizon

        User = get_user_model()
        lead, manager = User.objects.get(username="lead"), User.objects.get(username="manager")
        evaluators = list(User.objects.filter(username__in=["evaluator", "evaluator2"]).order_by("username"))
        vendors = ["Granite State Oral Solids", "Valmont Pharma Industriel", "Ishikari Fine Pharma"]
        evaluation, _ = builders.reviewed_evaluation(
            lead=lead,
            evaluators=evaluators,
            vendors=[Vendor.objects.get(name=vendor) for vendor in vendors],
            name=name,
            scores=builders.realistic_scores([3.6, 4.2, 3.1], seed="second-source"),
            description="A second commercial source for film-coated tablets of an approved kinase inhibitor.",
            dosage_form=DosageForm.objects.get(code="oral-solid"),
            modality=Modality.objects.get(code="small-molecule"),
            required_services=list(
                Service.objects.filter(code__in=["drug-product-manufacturing", "packaging-labelling"])
            ),
            phase=Phase.objects.get(code="phase-3"),
            target_agencies=["FDA", "EMA"],
        )
        ranking = selectors.ranking(evaluation, lead)
        chosen = [row.candidate for row in ranking.rows if row.rank is not None][:2]
        shortlist = builders.approved_shortlist(
            evaluation=evaluation,
            proposer=lead,
            approvers=[manager],
            candidates=chosen,
            password=lambda user: demo_password(user.username),
            rationale="The two best-ranked oral solid dose sites for a second source.",
        )
        rfp = builders.rfp_for(
            shortlist,
            lead,
            title="RFP: second commercial source for kinase-inhibitor tablets",
            sponsor="Helix Therapeutics",
            program_background="Film-coated tablets, 25 mg and 100 mg, for the US and EU markets.",
            contact_name="Priya Raman",
            contact_email="priya.raman@helix.example",
            co_opener=manager,
        )
        ProgramHorizon.objects.create(
            rfp=rfp, years=5, batches_per_year=10, base_currency="USD", updated_by=lead, notes="Demo horizon."
        )
        ExchangeRate.objects.create(
            rfp=rfp, currency="EUR", rate=Decimal("1.08"), as_of=date.today(), source="Demo rate", recorded_by=lead
        )
        # Two pricing models: per batch in USD, cost-plus in EUR.
        priced = [
            {
                "model": "Per batch",
                "currency": "USD",
                "price": 120000,  # the breakdown's technology-transfer line
                "pricing": {"per_batch": [["Film-coated tablets", 165000, 10, 5]]},
            },
            {
                "model": "Cost-plus",
                "currency": "EUR",
                "price": 95000,
                "compliance": ["Yes", "Partly", "Yes", "No"],
                "pricing": {"cost_plus": [["Manufacturing, packaging and release", 1450000, 12]]},
            },
        ]
        for candidate, filled in zip(chosen, priced, strict=True):
            invitation = builders.invited(rfp, lead, candidate, name="Bid manager")
            builders.sealed_questionnaire(invitation, **filled)
            builders.sealed_proposal(invitation, name="Technical and commercial proposal.pdf")
        builders.opened(rfp, password=lambda user: demo_password(user.username))
        builders.approved_award(
            rfp=rfp,
            proposer=lead,
            approvers=[manager],
            awarded=[(chosen[0], "Commercial supply of film-coated tablets: manufacture, packaging and release")],
            rationale="Best weighted score and full compliance with the questionnaire; its per-batch price over "
            "the five-year horizon is compared with the cost-plus offer in the award's snapshot.",
            password=lambda user: demo_password(user.username),
            comment="Agreed; start the quality agreement with QA.",
        )

    def seed_oversight(self):
        """After the award: the awarded site is qualified by audit (QA's outcome gives it a risk-based
        requalification date), its quality agreement is signed by QA and countersigned by the vendor, and four
        quarters of performance decline to "on watch", which moves its requalification forward a year."""
        from oversight.models_qa import QualityAgreement

        site = Site.objects.filter(selected_on__isnull=False).order_by("selected_on", "pk").first()
        site = site or Site.objects.filter(vendor__name="Granite State Oral Solids").order_by("name").first()
        if site is None or QualityAgreement.objects.filter(site=site).exists():
            return
        User = get_user_model()
        qa, auditor = User.objects.get(username="qa-manager"), User.objects.get(username="auditor")
        password = lambda user: demo_password(user.username)  # noqa: E731
        if site.qualification not in ("approved", "approved_with_conditions"):
            site = builders.qualified_site(site=site, auditor=auditor, qa=qa, password=password)
        builders.signed_agreement(
            site=site, activity=Service.objects.get(code="drug-product-manufacturing"), qa=qa, password=password
        )
        builders.performance_quarters(site=site, user=qa, quarters=builders.DECLINING_QUARTERS)

    @staticmethod
    def legal_suffix(country: str) -> str:
        return {
            "US": "Inc.",
            "DE": "GmbH",
            "CH": "AG",
            "GB": "Ltd",
            "IE": "Ltd",
            "FR": "SAS",
            "IT": "S.p.A.",
            "IN": "Pvt. Ltd.",
            "JP": "K.K.",
            "NL": "B.V.",
            "BE": "NV",
            "CN": "Co., Ltd.",
            "KR": "Co., Ltd.",
            "CA": "Inc.",
            "SG": "Pte. Ltd.",
            "NO": "AS",
        }.get(country, "Ltd")

    @staticmethod
    def description(name: str, profile: str) -> str:
        focus = {
            "biologics": "mammalian cell-culture development and manufacturing of monoclonal antibodies",
            "clinical": "full-service Phase I–IV trial management, monitoring and data management",
            "integrated": "development, manufacturing and clinical services under one governance",
            "api": "cGMP small-molecule API manufacturing with reactors up to 16,000 L",
            "chemistry": "medicinal chemistry, route scouting and analytical services at gram scale",
            "sterile": "aseptic fill-finish of vials and prefilled syringes",
            "cgt": "viral vector and cell therapy process development and clinical supply",
            "oral": "high-volume oral solid dose manufacturing and packaging",
            "peptide": "solid-phase peptide synthesis from grams to hundreds of kilograms",
            "preclinical": "GLP toxicology and PK/PD studies",
            "oligo": "oligonucleotide synthesis, purification and analytics",
            "formulation": "pre-formulation and formulation development for early phases",
            "vaccine": "vaccine drug substance and fill-finish",
            "inhaled": "dry-powder and metered-dose inhaler development and supply",
            "topical": "creams, gels and ointments manufacturing",
            "ophthalmic": "sterile ophthalmic solutions and suspensions",
            "packaging": "clinical and commercial packaging, labelling and QP release",
            "transdermal": "transdermal patch development and manufacturing",
        }[profile]
        return f"{name} specialises in {focus}. Fictional company for demonstration."
