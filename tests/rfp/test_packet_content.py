"""What a vendor receives (issue 16): the program's requirements per step, the template of what the
program buys, regulatory text by modality, no internal approval record; real PDFs read with pypdf,
the questionnaire opened with openpyxl, the ZIP's entries and their dates."""

import io
import re
import zipfile
from datetime import date, datetime, timedelta

import pytest
from django.apps import apps as django_apps
from openpyxl import load_workbook
from pypdf import PdfReader

from core.pdf import render_pdf
from rfp import defaults, reference, rendering
from rfp.models import RfpTemplate
from rfp.services import current_template
from scoring import shortlists
from tests.factories import PASSWORD, SiteFactory, VendorFactory
from vendors.models import Modality, Phase, Service
from vendorselect import builders

pytestmark = pytest.mark.django_db

NEEDED_BY = date(2027, 8, 25)
MAB_STEPS = [
    {
        "step": "drug_substance",
        "dosage_form": "biologic-drug-substance",
        "services": ["api-manufacturing"],
        "scale_unit": "L",
        "scale_min": "2000",
        "scale_max": "2000",
        "launch_scale": "2000",
        "volume_note": "4 batches a year in Phase II, 10 at launch",
    },
    {
        "step": "drug_product",
        "dosage_form": "sterile-injectable",
        "services": ["drug-product-manufacturing", "fill-finish"],
        "volume_note": "20,000 vials a year in Phase II",
    },
]
SMALL_MOLECULE_STEPS = [
    {
        "step": "drug_substance",
        "services": ["api-manufacturing"],
        "scale_unit": "kg",
        "scale_min": "5",
        "scale_max": "20",
        "launch_scale": "250",
        "volume_note": "3 campaigns before launch",
    },
    {"step": "drug_product", "dosage_form": "oral-solid", "services": ["drug-product-manufacturing"]},
]
CAPABILITIES = ["api-manufacturing", "drug-product-manufacturing", "fill-finish", "release-testing"]


def world(users, *, name, steps, modality, agencies, kinds=("CDMO",), **fields):
    """Two vendors (of `kinds`) with a cGMP site able to do every step, scored, shortlisted and
    approved by the manager's signature; an RFP to them."""
    vendors = []
    for number in range(2):
        site = SiteFactory(vendor=VendorFactory(name=f"{name} vendor {number}", kinds=list(kinds)), country="IE")
        site.capabilities.set(Service.objects.filter(code__in=CAPABILITIES))
        vendors.append(site.vendor)
    evaluation, candidates = builders.reviewed_evaluation(
        lead=users["procurement"],
        evaluators=[users["evaluator"]],
        vendors=vendors,
        name=name,
        modality=Modality.objects.get(code=modality),
        phase=Phase.objects.get(code="phase-2"),
        target_agencies=agencies,
        steps=steps,
        **fields,
    )
    shortlist = builders.approved_shortlist(
        evaluation=evaluation,
        proposer=users["procurement"],
        approvers=[users["manager"]],
        candidates=candidates,
        password=PASSWORD,
    )
    return builders.rfp_for(shortlist, users["procurement"], program_background="A program for **Phase II**.")


def packet(rfp, candidate=None):
    """The packet's inputs and its PDF text as a vendor reads it, with the template the program buys."""
    evaluation = rfp.shortlist.evaluation
    candidate = candidate or rfp.shortlist.entries.order_by("candidate__vendor__name").first().candidate
    template = current_template(rendering.kind_for(evaluation))
    manifest = shortlists.manifest(rfp.shortlist)
    assert manifest, "the world has signatures that must stay out of the packet"
    data = rendering.inputs(rfp, candidate, template, manifest, [("CDA.pdf", "ab" * 32)])
    pdf, _pages, refused = render_pdf(rendering.packet_html(data))
    assert refused == []
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    return data, text


def test_a_mab_packet_carries_the_program_and_the_biologic_regulatory_text(users):
    rfp = world(
        users, name="mAb fill", steps=MAB_STEPS, modality="biologic-mab", agencies=["FDA", "EMA"], needed_by=NEEDED_BY
    )
    data, text = packet(rfp)
    assert data["template"]["kind"] == "CMO"  # manufacturing steps only
    for expected in (
        "Modality: Biologic / monoclonal antibody",
        "Phase: Phase II",
        "Dosage forms: Biologic drug substance, Sterile injectable",
        "Target authorities: FDA, EMA and the EU national competent authorities",
        "Target markets: United States, European Union",
        "25 August 2027",
        "1. Biologic drug substance",  # the step and its dosage form say it once
        "Services: Drug substance (API) manufacturing",
        "Batch size now: 2,000 L",
        "Batch size at launch: 2,000 L",
        "4 batches a year in Phase II, 10 at launch",
        "2. Drug product / fill-finish — Sterile injectable",
        "Drug product manufacturing, Fill-finish",
        "20,000 vials a year in Phase II",
        "Sites considered in our evaluation",
        "3.2.S",
        "3.2.P",
        "pre-licence (PLI)",
        "pre-approval (PAI)",
        "EU national competent authorities (EMA coordinates)",
        "Annex 1",
        "Capacity and slot availability",
        "Supply chain",
        "cold chain",
        "QP release and import testing",
        "Qualified Person",
        "import testing",
        "Intellectual property",
        "process know-how",
        "Commercial model",
        "per campaign, cost-plus",
        "the BLA (United States) and the MAA (EU)",
        "Cost breakdown",
        "A program for Phase II.",  # the RFP's own background, Markdown rendered
    ):
        assert expected in text, expected
    assert "DMF" not in text and "Drug Master File" not in text and "ASMF" not in text
    assert "route developed in your laboratories" not in text
    assert "not specified" not in text
    assert "Drug substance (Biologic drug substance)" not in text and "(Sterile injectable)" not in text
    assert "Target markets: FDA" not in text


def test_no_internal_approval_record_in_what_a_vendor_receives(users):
    rfp = world(users, name="mAb record", steps=MAB_STEPS, modality="biologic-mab", agencies=["FDA", "EMA"])
    data, text = packet(rfp)
    manager = users["manager"].printed_name
    assert manager and manager not in text
    assert "Shortlist approval" not in text and not re.search(r"\bvalid\b", text, re.IGNORECASE)
    assert not re.search(r"\b[0-9a-f]{64}\b", text), "no SHA-256 in a vendor's packet"
    assert rfp.shortlist.snapshot_hash not in text and "SHA-256" not in text
    assert "version" not in text.lower() and "Template" not in text
    assert "approval" not in data and "signatures" not in str(data)
    # The cover: sponsor, reference, dates and the contact.
    cover = text[: text.index("Contents")]
    for expected in ("Helix Therapeutics", f"RFP-{rfp.pk:05d}", "Issue date", "Questions due", "Proposals due"):
        assert expected in cover, expected
    assert "Priya Raman" in cover and "priya@example.com" in cover


def test_a_small_molecule_packet_asks_for_the_dmf_and_letter_of_authorization(users):
    rfp = world(users, name="Tablets", steps=SMALL_MOLECULE_STEPS, modality="small-molecule", agencies=["FDA", "PMDA"])
    _data, text = packet(rfp)
    for expected in (
        "Drug Master File",
        "Letter of Authorization",
        "3.2.P",
        "Batch size now: 5–20 kg",
        "Batch size at launch: 250 kg",
        "Target markets: United States, Japan",
        "pre-approval inspections (PAI)",
    ):
        assert expected in text, expected
    assert "ASMF" not in text  # the EU is not a target
    assert "QP release" not in text and "Qualified Person" not in text  # neither the EU nor the UK
    assert "cold chain" not in text
    # What is not known is not filled with "not specified": it is to be confirmed with the contact.
    assert "not specified" not in text
    assert "To be confirmed with Priya Raman (priya@example.com): the needed-by date." in text


def test_a_small_molecule_development_program_gets_the_cdmo_route_text_and_the_asmf(users):
    steps = [{"step": "development", "services": ["process-development", "scale-up"]}, *SMALL_MOLECULE_STEPS]
    rfp = world(users, name="Route", steps=steps, modality="small-molecule", agencies=["EMA"])
    data, text = packet(rfp)
    assert data["template"]["kind"] == "CDMO"
    assert "route developed in your laboratories" in text and "route scouting" in text
    assert "Active Substance Master File (ASMF)" in text and "Drug Master File (Type II)" not in text
    assert "Development fee" in data["cost"]["bases"]


def test_a_biologic_cdmo_text_speaks_of_cell_line_and_process_not_a_route(users):
    steps = [{"step": "development", "services": ["cell-line-development", "process-development"]}, *MAB_STEPS]
    rfp = world(users, name="mAb CDMO", steps=steps, modality="biologic-mab", agencies=["FDA"])
    data, text = packet(rfp)
    assert data["template"]["kind"] == "CDMO"
    assert "route" not in text.lower().replace("routes", "")
    assert "cell line development" in text and "cell line and the process developed" in text
    assert "DMF" not in text and "Drug Master File" not in text


def test_the_template_follows_the_program_not_the_vendor(users):
    """An integrated CDMO + CRO vendor on a manufacturing-only program gets the manufacturing text,
    with no clinical services to quote for."""
    rfp = world(
        users,
        name="Integrated vendor",
        steps=MAB_STEPS,
        modality="biologic-mab",
        agencies=["FDA"],
        kinds=("CDMO", "CRO"),
    )
    data, text = packet(rfp)
    assert data["template"]["kind"] == "CMO"
    assert "clinical services" not in text.lower() and "monitoring" not in text.lower().replace(
        "temperature monitoring", ""
    )
    assert "FTE" not in data["cost"]["bases"]


def test_a_clinical_program_gets_the_cro_text(users):
    steps = [{"step": "clinical", "services": ["clinical-monitoring", "data-management", "biostatistics"]}]
    rfp = world(users, name="Phase II study", steps=steps, modality="biologic-mab", agencies=["EMA"], kinds=("CRO",))
    data, text = packet(rfp)
    assert data["template"]["kind"] == "CRO"
    for expected in (
        "Clinical monitoring, Data management, Biostatistics",
        "Quality regime: GCP",
        "Team availability",
        "clinical trial applications",
        "GCP inspections by the EU national competent authorities (EMA coordinates)",
        "Investigational medicinal products",  # EU trials: QP certification of the IMP
        "full-time-equivalent (FTE)",
        "milestone-based",
    ):
        assert expected in text, expected
    for absent in ("technology-transfer approach", "Supply chain", "3.2.P", "3.2.S", "Batch size", "per batch"):
        assert absent not in text, absent
    assert data["cost"]["bases"] == ["FTE", "Fixed price", "Time and materials", "Milestone", "Pass-through"]


def test_manufacturing_with_clinical_services_gets_the_integrated_text(users):
    steps = [*MAB_STEPS, {"step": "clinical", "services": ["clinical-monitoring"]}]
    rfp = world(users, name="End to end", steps=steps, modality="biologic-mab", agencies=["FDA", "MHRA"])
    data, text = packet(rfp)
    assert data["template"]["kind"] == "INTEGRATED"
    for expected in ("one partner", "3. Clinical services", "3.2.P", "clinical trial applications", "MHRA"):
        assert expected in text, expected
    assert "For the United Kingdom, a QP" in text and "EU/EEA" not in text  # the UK, not the EU, is a target
    assert {"Per batch", "FTE", "Milestone"} <= set(data["cost"]["bases"])
    assert ["Clinical monitoring", "FTE"] in data["cost"]["items"]


def test_generated_packets_follow_the_program_and_date_their_zip_entries(users, django_capture_on_commit_callbacks):
    """Through the services and the worker step: the integrated vendor's stored packet is the
    manufacturing one, and its ZIP's entries carry the day it was generated."""
    from django.utils import timezone

    from rfp import services
    from rfp.models import Packet

    rfp = world(users, name="Stored", steps=MAB_STEPS, modality="biologic-mab", agencies=["FDA"], kinds=("CDMO", "CRO"))
    with django_capture_on_commit_callbacks(execute=True):
        services.rfp_generate(rfp=rfp, user=users["procurement"])
    packets = list(Packet.objects.filter(rfp=rfp).select_related("template"))
    assert len(packets) == 2 and {(p.status, p.template.kind) for p in packets} == {("done", "CMO")}
    with packets[0].pdf.open("rb") as handle:
        text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(handle.read())).pages).split())
    assert "3.2.P" in text and "clinical services" not in text.lower()
    assert users["manager"].printed_name not in text and "version" not in text.lower()
    with packets[0].bundle.open("rb") as handle:
        entries = zipfile.ZipFile(io.BytesIO(handle.read())).infolist()
    generated = timezone.localtime(packets[0].finished_at)
    assert {e.date_time[:3] for e in entries} == {(generated.year, generated.month, generated.day)}
    assert all(e.date_time[:3] != (2020, 1, 1) for e in entries)
    # The same inputs again: the stored packets are reused, whatever the ZIP's dates.
    with django_capture_on_commit_callbacks(execute=True):
        again = services.rfp_generate(rfp=rfp, user=users["procurement"])
    assert sorted(p.pk for p in again) == sorted(p.pk for p in packets)
    assert Packet.objects.filter(rfp=rfp).count() == 2


@pytest.mark.parametrize(
    ("steps", "services", "allowed", "kind"),
    [
        (["drug_substance", "drug_product", "testing"], [], [], "CMO"),
        (["drug_substance"], ["process-development"], [], "CDMO"),
        (["development", "drug_product"], [], [], "CDMO"),
        ([], ["route-scouting", "api-manufacturing"], [], "CDMO"),
        (["clinical"], ["clinical-monitoring", "data-management"], [], "CRO"),
        (["nonclinical"], [], [], "CRO"),
        (["drug_product", "clinical"], [], [], "INTEGRATED"),
        ([], ["process-development", "clinical-monitoring"], [], "INTEGRATED"),
        ([], ["project-management"], ["CMO"], "CMO"),  # says nothing of what is bought: the allowed kind
        ([], [], ["CDMO", "CRO"], "INTEGRATED"),
        ([], [], [], "CDMO"),
    ],
)
def test_kind_for_follows_what_the_program_buys(users, steps, services, allowed, kind):
    from scoring import services as scoring_services
    from vendors.models import Kind

    evaluation = scoring_services.evaluation_create(
        lead=users["procurement"],
        name="Scope",
        steps=[{"step": step} for step in steps],
        required_services=list(Service.objects.filter(code__in=services)),
        allowed_kinds=list(Kind.objects.filter(code__in=allowed)),
    )
    assert rendering.kind_for(evaluation) == kind
    assert kind in RfpTemplate.Kind.values


def test_the_questionnaire_has_a_cost_breakdown_sheet_with_validation(users):
    rfp = world(users, name="Costs", steps=MAB_STEPS, modality="biologic-mab", agencies=["FDA", "EMA"])
    data, _text = packet(rfp)
    data["cost"]["items"].append(['=HYPERLINK("http://x")', "Per batch"])  # a formula is never written as one
    book = load_workbook(io.BytesIO(rendering.questionnaire(data)))
    assert book.sheetnames == ["Questionnaire", "Cost breakdown", "_check"]
    questions = [row[2] for row in book["Questionnaire"].iter_rows(min_row=5, values_only=True)]
    assert any("Cost breakdown sheet" in q for q in questions)
    assert not any("Give the cost breakdown" in q for q in questions)  # no free-text cell for it
    sheet = book["Cost breakdown"]
    assert [c.value for c in sheet[4]] == [
        "Item",
        "Pricing basis",
        "Quantity",
        "Unit",
        "Unit price",
        "Currency",
        "Amount",
        "Notes",
    ]
    items = {row[0]: row[1] for row in sheet.iter_rows(min_row=5, max_row=34, values_only=True) if row[0]}
    assert items["Technology transfer"] == "Technology transfer fee"
    assert items["Biologic drug substance: GMP batch"] == "Per batch"
    assert 'HYPERLINK("http://x")' in items and not any(str(i).startswith("=") for i in items)
    validations = {v.formula1: str(v.sqref) for v in sheet.data_validations.dataValidation}
    bases = '"Per batch,Per campaign,Cost-plus,Take-or-pay,Technology transfer fee,Fixed price,Pass-through"'
    assert validations[bases] == "B5:B34"
    assert "C5:C34" in validations["0"] and "E5:E34" in validations["0"]
    assert sheet["G5"].value == '=IF(AND(ISNUMBER(C5),ISNUMBER(E5)),C5*E5,"")'
    assert sheet["A35"].value == "Total" and sheet["G35"].value == "=SUM(G5:G34)"


def test_zip_entries_are_dated_with_the_generation_date():
    generated = datetime(2026, 11, 28, 14, 30, 12)
    from django.utils import timezone

    zipped = rendering.bundle([("a.pdf", b"%PDF-1.4"), ("b.xlsx", b"PK")], timezone.make_aware(generated))
    entries = zipfile.ZipFile(io.BytesIO(zipped)).infolist()
    assert [e.filename for e in entries] == ["a.pdf", "b.xlsx"]
    assert {e.date_time for e in entries} == {(2026, 11, 28, 14, 30, 12)}
    later = rendering.bundle([("a.pdf", b"%PDF-1.4")], timezone.make_aware(generated + timedelta(days=1)))
    assert zipfile.ZipFile(io.BytesIO(later)).infolist()[0].date_time[:3] == (2026, 11, 29)


def test_the_shipped_texts_are_the_current_version_of_every_kind_and_seeding_again_adds_nothing():
    for kind in reference.KINDS:
        versions = list(RfpTemplate.objects.filter(kind=kind).order_by("version"))
        assert [v.version for v in versions] == [1, 2]
        assert versions[0].sections == defaults.first_version(kind)["sections"]
        assert (versions[1].sections, versions[1].questions) == (
            defaults.template_for(kind)["sections"],
            defaults.template_for(kind)["questions"],
        )
        assert current_template(kind) == versions[1]
        for section in versions[1].sections:
            assert rendering.unknown_placeholders(section["body"]) == set(), (kind, section["key"])
    reference.load(django_apps)
    assert RfpTemplate.objects.count() == 2 * len(reference.KINDS)
