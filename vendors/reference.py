"""Reference data of the register: the controlled vocabularies (from the domain brief; admins may
extend them later) and the roles' permissions on the register.

Plain functions of an app registry (`apps`: a migration's historical registry, or django.apps.apps),
idempotent: the migrations that introduced each piece call them, and so does seed_demo (`load`).
"""

from accounts.roles import grant_permissions

KINDS = [
    ("CRO", "CRO — contract research organization"),
    ("CMO", "CMO — contract manufacturing organization"),
    ("CDMO", "CDMO — contract development and manufacturing organization"),
]

SERVICES = {
    "research_clinical": [
        ("clinical-trial-planning", "Clinical trial planning"),
        ("site-selection-start-up", "Site selection and start-up"),
        ("patient-recruitment", "Patient recruitment"),
        ("clinical-monitoring", "Clinical monitoring"),
        ("data-management", "Data management"),
        ("biostatistics", "Biostatistics"),
        ("medical-writing", "Medical writing"),
        ("project-management", "Project management"),
        ("preclinical-toxicology", "Preclinical toxicology"),
        ("pk-pd-studies", "PK/PD studies"),
        ("route-scouting", "Route scouting"),
        ("medicinal-chemistry", "Medicinal chemistry"),
        ("process-research", "Process research"),
        ("formulation-research", "Formulation research"),
    ],
    "development": [
        ("analytical-method-development", "Analytical method development"),
        ("formulation-development", "Formulation development"),
        ("process-development", "Process development"),
        ("process-optimization", "Process optimization"),
        ("scale-up", "Scale-up"),
        ("technology-transfer", "Technology transfer"),
        ("process-validation", "Process validation"),
        ("cell-line-development", "Cell line development"),
    ],
    "manufacturing": [
        ("api-manufacturing", "Drug substance (API) manufacturing"),
        ("drug-product-manufacturing", "Drug product manufacturing"),
        ("clinical-trial-materials", "Clinical trial materials"),
        ("registration-batches", "Registration batches"),
        ("commercial-manufacturing", "Commercial manufacturing"),
        ("fill-finish", "Fill-finish"),
        ("packaging-labelling", "Packaging and labelling"),
    ],
    "regulatory_quality": [
        ("regulatory-affairs", "Regulatory affairs"),
        ("cmc-regulatory-writing", "CMC regulatory writing (CTD Module 3)"),
        ("dmf-filing", "DMF filing and Letter of Authorization"),
        ("stability-testing", "Stability testing"),
        ("release-testing", "QC release testing"),
        ("qualified-person-release", "Qualified Person release"),
    ],
}

MODALITIES = [
    ("small-molecule", "Small molecule"),
    ("peptide", "Peptide"),
    ("oligonucleotide", "Oligonucleotide"),
    ("biologic-mab", "Biologic / monoclonal antibody"),
    ("cell-gene-therapy", "Cell and gene therapy"),
    ("vaccine", "Vaccine"),
]

DOSAGE_FORMS = [
    ("oral-solid", "Oral solid"),
    ("oral-liquid", "Oral liquid"),
    ("sterile-injectable", "Sterile injectable"),
    ("biologic-drug-substance", "Biologic drug substance"),
    ("topical", "Topical"),
    ("inhaled", "Inhaled"),
    ("ophthalmic", "Ophthalmic"),
    ("transdermal", "Transdermal"),
]

PHASES = [
    ("discovery", "Discovery"),
    ("preclinical", "Preclinical"),
    ("phase-1", "Phase I"),
    ("phase-2", "Phase II"),
    ("phase-3", "Phase III"),
    ("commercial", "Commercial"),
]

VIEW_ALL = [
    "vendors.view_vendor",
    "vendors.view_site",
    "vendors.view_contact",
    "vendors.view_regulatoryinspection",
]
VOCABULARY = ["kind", "service", "modality", "dosageform", "phase"]

ROLE_GRANTS = {
    # Procurement keeps the register: vendors, contacts, sites, and file imports.
    "Procurement lead": [
        *VIEW_ALL,
        "vendors.add_vendor",
        "vendors.change_vendor",
        "vendors.add_contact",
        "vendors.change_contact",
        "vendors.delete_contact",
        "vendors.add_site",
        "vendors.change_site",
        "vendors.add_importjob",
        "vendors.view_importjob",
    ],
    # Auditors keep the inspection record and the site facts it hangs on (FEI numbers).
    "Auditor": [
        *VIEW_ALL,
        "vendors.add_site",
        "vendors.change_site",
        "vendors.add_regulatoryinspection",
        "vendors.change_regulatoryinspection",
    ],
    "Evaluator": VIEW_ALL,
    "Manager": VIEW_ALL,
    # Admins look after the controlled vocabularies, not business records.
    "Admin": VIEW_ALL + [f"vendors.{action}_{model}" for model in VOCABULARY for action in ("add", "change", "view")],
}

# Auditors import regulatory inspection data (the FDA Data Dashboard export).
AUDITOR_IMPORT_GRANTS = {"Auditor": ["vendors.add_importjob", "vendors.view_importjob"]}


def load_vocabularies(apps) -> None:
    """Migration 0002_vocabularies: every term by code, its name and position brought up to date."""

    def load(model_name, rows, **extra):
        model = apps.get_model("vendors", model_name)
        for position, (code, name) in enumerate(rows):
            model.objects.update_or_create(code=code, defaults={"name": name, "position": position, **extra})

    load("Kind", KINDS)
    for group, rows in SERVICES.items():
        load("Service", rows, group=group)
    load("Modality", MODALITIES)
    load("DosageForm", DOSAGE_FORMS)
    load("Phase", PHASES)


# The regulatory records per site (warning letters, import alerts, GMP certificates) and the
# approved-supplier list: auditors keep them, every role reads them, managers and quality assurance
# decide a site's qualification.
RECORDS = ["warningletter", "importalert", "gmpcertificate"]
VIEW_RECORDS = [f"vendors.view_{model}" for model in [*RECORDS, "sitequalification"]]
DECIDE_QUALIFICATION = ["vendors.add_sitequalification", "vendors.change_sitequalification"]
REGULATORY_GRANTS = {
    "Procurement lead": VIEW_RECORDS,
    "Auditor": [
        *VIEW_RECORDS,
        *[f"vendors.{action}_{model}" for model in RECORDS for action in ("add", "change")],
        *DECIDE_QUALIFICATION,
    ],
    "Evaluator": VIEW_RECORDS,
    "Manager": [*VIEW_RECORDS, *DECIDE_QUALIFICATION],
    "Admin": VIEW_RECORDS,
    "Quality assurance": [*VIEW_RECORDS, *DECIDE_QUALIFICATION],
}


def grant_regulatory_records(apps, revoke: bool = False) -> None:
    """Migration 0012_regulatory_records_data (and the Quality assurance role, once it exists)."""
    grant_permissions(apps, REGULATORY_GRANTS, revoke=revoke)


def grant_roles(apps, revoke: bool = False) -> None:
    """Migration 0003_role_permissions."""
    grant_permissions(apps, ROLE_GRANTS, revoke=revoke)


def grant_auditor_imports(apps, revoke: bool = False) -> None:
    """Migration 0005_auditor_imports."""
    grant_permissions(apps, AUDITOR_IMPORT_GRANTS, revoke=revoke)


def load(apps) -> None:
    load_vocabularies(apps)
    grant_roles(apps)
    grant_auditor_imports(apps)
    grant_regulatory_records(apps)
