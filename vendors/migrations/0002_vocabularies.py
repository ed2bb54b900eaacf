"""Controlled vocabularies from the domain brief. Admins may extend them later."""

from django.db import migrations

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


def seed(apps, schema_editor):
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


class Migration(migrations.Migration):
    dependencies = [("vendors", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
