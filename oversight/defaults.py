"""Default texts: the quality agreement's responsibility matrix per partner kind, and the first risk matrix.

Sections follow FDA's guidance "Contract Manufacturing Arrangements for Drugs: Quality Agreements"
(2016), section IV.C. Each line is (section, responsibility, default owner); an owner of "" is left for
QA to agree with the vendor (signing refuses a line without an owner). CMO and CDMO share the
manufacturing lines, the CDMO adds development and technology transfer; a CRO's agreement keeps the
quality-system sections and replaces manufacturing terms by study and laboratory terms (GLP/GCP).
"""

from __future__ import annotations

SECTIONS: list[tuple[str, str]] = [
    ("quality_units", "Responsibilities of the quality units"),
    ("facilities", "Facilities and equipment"),
    ("materials", "Materials management"),
    ("product", "Product-specific terms: specifications, master batch records, release"),
    ("laboratory", "Laboratory controls"),
    ("documentation", "Documentation and records"),
    ("change_control", "Change control"),
    ("deviations", "Deviations, OOS results and investigations"),
    ("complaints", "Complaints, recalls and returns"),
    ("audits", "Audits and regulatory inspections"),
    ("subcontracting", "Subcontracting"),
]
SECTION_TITLES = dict(SECTIONS)

S, V, B = "sponsor", "vendor", "both"

_COMMON_HEAD = [
    ("quality_units", "Final disposition (release) of each batch for distribution or clinical use", S),
    ("quality_units", "Approval of the vendor's procedures, specifications and batch records for the product", B),
    ("quality_units", "Name the quality contacts of each party and keep the list current", B),
    ("quality_units", "Annual product quality review / product quality review data", B),
]

_MANUFACTURING = [
    ("facilities", "Qualification, calibration and maintenance of facilities, utilities and equipment", V),
    ("facilities", "Cleaning validation and prevention of cross-contamination in shared facilities", V),
    ("facilities", "Environmental monitoring programme (classified areas)", V),
    ("materials", "Qualification of raw-material and component suppliers", ""),
    ("materials", "Testing and release of incoming materials against approved specifications", V),
    ("materials", "Storage and shipping conditions of materials and product", V),
    ("product", "Approval of product specifications and their changes", S),
    ("product", "Master batch record: drafting by the vendor, approval by both quality units", B),
    ("product", "Executed batch record review and vendor's QA batch certification", V),
    ("product", "Process validation protocol and report approval", B),
    ("laboratory", "Release and stability testing per approved methods", V),
    ("laboratory", "Analytical method validation or transfer", B),
    ("laboratory", "Retention samples and reference standards", V),
    ("documentation", "Retention of batch, laboratory and quality records for the agreed period", V),
    ("documentation", "Data integrity controls (ALCOA+) for paper and electronic records", V),
    ("documentation", "Access to records on request, within 5 working days", V),
    (
        "change_control",
        "Notify the sponsor of changes to process, equipment, materials, methods or site "
        "within the notice period before they take effect",
        V,
    ),
    ("change_control", "Approval of changes that affect the product or its registration", S),
    ("change_control", "Regulatory filing of changes (variations, supplements)", S),
    ("deviations", "Investigate deviations and OOS results (root cause, impact, CAPA)", V),
    ("deviations", "Notify the sponsor of critical and major deviations within 1 working day", V),
    ("deviations", "Approval of investigations affecting released or to-be-released batches", S),
    ("complaints", "Receive and triage product complaints", S),
    ("complaints", "Investigate complaints involving manufacture or testing at the site", V),
    ("complaints", "Decide and coordinate recalls and field actions", S),
    ("complaints", "Handle returned goods at the site (quarantine, evaluation, disposition)", V),
    ("audits", "Allow the sponsor's audits of the site with reasonable notice, and for-cause audits", V),
    (
        "audits",
        "Notify the sponsor of regulatory inspections within 1 working day and share the outcome "
        "(e.g. Form 483 observations) within 5 working days",
        V,
    ),
    ("audits", "Host and respond to pre-approval inspections for the product", B),
    ("subcontracting", "No subcontracting of product activities without the sponsor's prior written approval", V),
    ("subcontracting", "Qualification and oversight of approved subcontractors (e.g. contract laboratories)", V),
]

_DEVELOPMENT = [
    ("product", "Technology transfer package (process description, CPPs, IPCs, methods) and its gap analysis", B),
    ("product", "Development reports and their ownership", ""),
    ("laboratory", "Phase-appropriate method qualification for development batches", V),
]

_CRO = [
    ("facilities", "Qualification and maintenance of laboratory instruments and computerised systems", V),
    ("materials", "Receipt, storage and accountability of test items and reference standards", V),
    ("materials", "Supply of test items with certificate of analysis", S),
    ("product", "Approval of study protocols and their amendments", B),
    ("product", "Study director / principal investigator appointment and oversight", V),
    ("laboratory", "Conduct of studies under GLP or GCP as the protocol states", V),
    ("laboratory", "Validation of bioanalytical and analytical methods", V),
    ("documentation", "Archiving of raw data, specimens and study reports for the agreed period", V),
    ("documentation", "Data integrity controls (ALCOA+) and audit trails of computerised systems", V),
    ("documentation", "Final study report approval", B),
    (
        "change_control",
        "Notify the sponsor of changes to methods, systems, key personnel or facilities "
        "within the notice period before they take effect",
        V,
    ),
    ("deviations", "Record and assess protocol deviations and notify critical ones within 1 working day", V),
    ("deviations", "Investigate out-of-specification / out-of-trend results", V),
    ("complaints", "Handle safety-relevant findings and sponsor complaints about study conduct", B),
    ("audits", "Allow the sponsor's audits and study-specific audits", V),
    ("audits", "Notify the sponsor of regulatory inspections within 1 working day and share the outcome", V),
    ("subcontracting", "No subcontracting of study activities without the sponsor's prior written approval", V),
]

TEMPLATES: dict[str, list[tuple[str, str, str]]] = {
    "CMO": _COMMON_HEAD + _MANUFACTURING,
    "CDMO": _COMMON_HEAD + _MANUFACTURING + _DEVELOPMENT,
    "CRO": _COMMON_HEAD + _CRO,
}

# Notice periods for change control, per kind (days before a change takes effect).
CHANGE_NOTICE_DAYS = {"CMO": 90, "CDMO": 90, "CRO": 30}


def template_lines(kind: str) -> list[tuple[str, str, str]]:
    """The template's lines in section order (the order of SECTIONS, then as written)."""
    order = {code: i for i, (code, _title) in enumerate(SECTIONS)}
    return sorted(TEMPLATES[kind], key=lambda line: order[line[0]])


# The first risk matrix: score (0-100) -> months between audits.
DEFAULT_BANDS = [
    {"low": 0, "high": 29, "months": 36, "label": "Low risk"},
    {"low": 30, "high": 49, "months": 24, "label": "Medium risk"},
    {"low": 50, "high": 100, "months": 12, "label": "High risk"},
]
