"""The seeded RFP templates per partner kind, from the domain brief: version 1 (kept as it was, so
that a fresh database and an old one hold the same rows) and the packet texts a sponsor sends
(`template_for`, migration 0008_packet_texts). Markdown with {placeholders}; the criteria and their
weights are added by the renderer, not written here.

A placeholder in capitals below is a block the renderer writes from the evaluation (a list, or
paragraphs): it stands alone in its paragraph. A section whose text is empty once filled (e.g. QP
release when neither the EU nor the UK is a target) is left out of the packet.
"""

PLACEHOLDERS = {
    "sponsor": "the sponsor's name",
    "program": "the evaluation's name",
    "vendor": "the vendor's name",
    "kind": "the partner kind the program buys (its template's kind)",
    "modality": "modality",
    "phase": "development phase",
    "dosage_form": "dosage form(s)",
    "markets": "target markets (regions, derived from the authorities)",
    "authorities": "target authorities (agencies)",
    "needed_by": "the date the program needs supply or services by",
    "issue_date": "issue date",
    "questions_due": "questions due",
    "proposal_due": "proposal due",
    "presentations": "presentations",
    "award_decision": "award decision",
    "contact_name": "point of contact",
    "contact_email": "point of contact's e-mail",
    "rfp_id": "RFP reference",
    "program_facts": "BLOCK: the program's requirements (modality, phase, dosage forms, authorities, markets, dates)",
    "requirements": "BLOCK: what the program buys, per step (services, regime, batch sizes now and at launch, volumes)",
    "regulatory": "BLOCK: the regulatory requests for the modality and steps (CTD 3.2.S/3.2.P, DMF/ASMF, inspections)",
    "qp_release": "BLOCK: QP certification and EU/UK import testing, when the EU or the UK is a target (else empty)",
    "development_scope": "the development work for the modality (route or cell line and process)",
    "development_handover": "how development becomes manufacturing, for the modality",
    "materials": "the materials to source, for the modality",
    "cold_chain": "BLOCK: cold-chain expectations when the product needs one (else empty)",
}

# --- Version 1 (as first seeded; never changed: a fresh database gets the same rows as an old one) ---

V1_COMMON_START = [
    {
        "key": "introduction",
        "title": "Introduction",
        "body": "{sponsor} invites **{vendor}** to submit a proposal for the program *{program}*.\n\n"
        "Your point of contact for everything concerning this RFP is {contact_name} ({contact_email}). "
        "Please direct all communication to this contact only.",
    },
    {
        "key": "confidentiality",
        "title": "Confidentiality",
        "body": "This RFP and everything shared with it are confidential information of {sponsor} under the "
        "confidentiality agreement (CDA) in place between our companies. Do not share them beyond the people "
        "who prepare your proposal.",
    },
    {
        "key": "background",
        "title": "Program background",
        "body": "Modality: {modality}. Phase: {phase}. Dosage form: {dosage_form}. Target markets: {markets}.",
    },
]

V1_SCOPES = {
    "CRO": "We seek clinical and research services for {program}: study start-up, site management and "
    "monitoring, data management and biostatistics, medical writing and pharmacovigilance as applicable to "
    "{phase}. Describe the team you would assign, your experience in the indication, and your "
    "subcontracting, if any.",
    "CMO": "We seek GMP manufacturing for {program} ({dosage_form}): batch sizes and annual volumes as "
    "described in the background, release testing and stability, packaging and labelling. State your "
    "available capacity, equipment train and the batch sizes you can run without new investment.",
    "CDMO": "We seek development and manufacturing for {program}: process development and optimisation, "
    "analytical development and validation, scale-up, GMP manufacture of clinical supply for {phase}, and a "
    "path to commercial scale. Describe how a route developed in your laboratories becomes a robust, "
    "scalable manufacturing process.",
    "INTEGRATED": "We seek an integrated partner for {program}: development and GMP manufacturing of the "
    "{modality} together with the clinical services for {phase}, under one governance. Describe how your "
    "development, manufacturing and clinical teams hand over to one another.",
}

V1_COMMON_END = [
    {
        "key": "requirements_technical",
        "title": "Technical requirements",
        "body": "Describe the facilities, equipment and analytical capabilities you would use, the sites involved "
        "(with FEI numbers where they exist) and their recent inspection history.",
    },
    {
        "key": "quality_agreement",
        "title": "Quality agreement",
        "body": "A quality agreement will be concluded before any GMP work. It covers release testing, "
        "deviations and investigations, change control, and the notification of regulatory inspections and "
        "findings. Confirm that you accept these responsibilities or state your exceptions.",
    },
    {
        "key": "regulatory",
        "title": "Regulatory requirements",
        "body": "State who prepares the CTD Module 3.2.S sections, whether you hold a Drug Master File and "
        "will provide a Letter of Authorization, and how you prepare for a pre-approval inspection by "
        "{markets}.",
    },
    {
        "key": "tech_transfer",
        "title": "Technology transfer",
        "body": "Describe your technology-transfer approach: the package you expect, transfer sessions, gap "
        "analysis, and demonstration or engineering batches, with the time and cost you foresee.",
    },
    {
        "key": "ip",
        "title": "Intellectual property",
        "body": "Foreground IP created in this program is assigned to {sponsor} (assignment, not only a "
        "license). Background IP remains yours. You will cooperate with patent prosecution, and {sponsor} "
        "keeps audit rights.",
    },
    {
        "key": "commercial",
        "title": "Commercial model",
        "body": "Propose your pricing model (fixed price per work package, or rates and estimates) and fill in "
        "the cost breakdown in the questionnaire: labour, materials, equipment time, testing, and pass-through "
        "costs.",
    },
    {
        "key": "timeline",
        "title": "Timeline",
        "body": "- RFP issued: {issue_date}\n- Questions due: {questions_due}\n- Proposals due: {proposal_due}\n"
        "- Presentations: {presentations}\n- Award decision: {award_decision}",
    },
    {
        "key": "submission",
        "title": "Submission instructions",
        "body": "Send your proposal and the completed questionnaire (the XLSX in this packet) to "
        "{contact_email} by {proposal_due}, quoting reference {rfp_id}. Late or incomplete proposals may not "
        "be considered.",
    },
]

V1_QUESTIONS = [
    ("Scope fit", "Which parts of the scope of work would you perform yourselves, and which would you subcontract?"),
    ("Scope fit", "Describe three comparable programs you delivered in the last five years."),
    (
        "Regulatory track record",
        "List the regulatory inspections of the proposed sites in the last five years and their outcomes.",
    ),
    (
        "Regulatory track record",
        "Have you received an FDA warning letter or an EU statement of non-compliance? If so, describe the remediation.",
    ),
    ("Scale flexibility", "What batch sizes can you run now, and what investment would launch volumes need?"),
    (
        "Technology transfer",
        "Describe a recent technology transfer into or out of your site: duration, batches, issues.",
    ),
    ("Quality systems", "Describe your deviation, CAPA and change-control processes and their typical cycle times."),
    ("Quality systems", "Will you accept our quality agreement template? List your exceptions."),
    (
        "Cultural fit and communication",
        "Who would be our project manager, and how do you report progress and escalate issues?",
    ),
    ("Commercial", "Give the cost breakdown of your proposal (labour, materials, testing, pass-through)."),
]


def first_version(kind: str) -> dict:
    scope = {"key": "scope", "title": "Scope of work", "body": V1_SCOPES[kind]}
    return {
        "name": f"{kind} request for proposals",
        "sections": [*V1_COMMON_START, scope, *V1_COMMON_END],
        "questions": [{"criterion": c, "question": q} for c, q in V1_QUESTIONS],
    }


# --- The packet texts a sponsor sends (version 2 of every kind; migration 0008_packet_texts) ---------

CHANGE_NOTE = (
    "Packet texts a sponsor sends: program requirements per step, regulatory text by modality, capacity, "
    "supply chain, QP release, IP on improvements, pricing models; no internal approval record."
)

INTRODUCTION = {
    "key": "introduction",
    "title": "Introduction",
    "body": "{sponsor} invites **{vendor}** to submit a proposal for the program *{program}* (reference {rfp_id}).\n\n"
    "Your point of contact for everything concerning this RFP is {contact_name} ({contact_email}). Please "
    "direct all communication, questions included, to this contact only. Questions are due by {questions_due}; "
    "answers of interest to every bidder are shared with all of them without naming who asked.",
}
CONFIDENTIALITY = {
    "key": "confidentiality",
    "title": "Confidentiality",
    "body": "This RFP and everything shared with it are confidential information of {sponsor} under the "
    "confidentiality agreement (CDA) in place between our companies. Do not share them beyond the people who "
    "prepare your proposal.",
}
BACKGROUND = {"key": "background", "title": "Program background", "body": "{program_facts}"}

SCOPES = {
    "CRO": "We seek the research and clinical services set out below. Describe the team you would assign and its "
    "experience with comparable studies, your approach to site selection and start-up in the countries "
    "concerned, and any part of the work you would subcontract.\n\n{requirements}",
    "CMO": "We seek GMP manufacturing to our defined process, as set out below. Describe the equipment train and "
    "the batch sizes you can run at the proposed sites without new investment, release testing and stability, "
    "and any part of the work you would subcontract.\n\n{requirements}",
    "CDMO": "We seek development and GMP manufacturing under one roof: {development_scope}, analytical development "
    "and validation, scale-up, technology transfer into manufacturing, and GMP manufacture with a path to "
    "commercial scale, as set out below. Describe how {development_handover}, and any part of the work you would "
    "subcontract.\n\n{requirements}",
    "INTEGRATED": "We seek one partner for the development and manufacturing steps and the clinical services of "
    "this program, under one governance, as set out below. Describe how your development, manufacturing and "
    "clinical teams hand over to one another (clinical supply to the trial sites included), who leads the program "
    "on your side, and any part of the work you would subcontract.\n\n{requirements}",
}

TECHNICAL = {
    "CRO": "Describe the team and the systems you would use (EDC, CTMS, eTMF, safety database), their validation "
    "and data-integrity controls, the countries and sites you propose, and the outcome of GCP or GLP inspections "
    "and sponsor audits in the last five years.",
    "MANUFACTURING": "Describe, for each step, the facilities, equipment and analytical capabilities you would use "
    "and the sites involved (with FEI numbers where they exist), their quality regime, and their inspection "
    "history of the last five years.",
    "INTEGRATED": "Describe, for each development and manufacturing step, the facilities, equipment and "
    "analytical capabilities you would use and the sites involved (with FEI numbers where they exist); for the "
    "clinical services, the team, the systems (EDC, CTMS, eTMF, safety database) and the countries; and the "
    "inspection history of the last five years.",
}

CAPACITY = {
    "key": "capacity",
    "title": "Capacity and slot availability",
    "body": "State the capacity you would reserve for this program at each proposed site, the earliest "
    "manufacturing slots you can commit to, and how you would meet the date the program needs supply by: "
    "{needed_by}. Say how much notice you need to add batches or to move to launch volumes, and whether launch "
    "volumes need new investment or another site.",
}
TEAM_AVAILABILITY = {
    "key": "capacity",
    "title": "Team availability",
    "body": "State when the team you propose can start, how you would meet the date the program needs the services "
    "by: {needed_by}, and how you staff peaks and replace key people.",
}
SUPPLY_CHAIN = {
    "key": "supply_chain",
    "title": "Supply chain",
    "body": "Describe how you source {materials}: your supplier qualification, which materials are single-sourced "
    "and how you mitigate that risk (second sources, safety stock, early ordering), and their lead times. Say which "
    "materials you expect {sponsor} to supply.\n\n{cold_chain}",
}

QUALITY = {
    "MANUFACTURING": "A quality agreement (FDA guidance on quality agreements for contract manufacturing; EU GMP "
    "Chapter 7) will be concluded before any GMP work. It sets out who does what: release testing and batch "
    "disposition, deviations, out-of-specification results and investigations, change control with prior "
    "notification to {sponsor}, complaints and recalls, audits by {sponsor}, notification of regulatory "
    "inspections and their findings, and subcontracting. Confirm that you accept these responsibilities or state "
    "your exceptions.",
    "CRO": "A quality agreement sets out the responsibilities under GCP and GLP: your SOPs and deviations from "
    "them, CAPA, oversight of subcontractors and trial sites, data integrity, audits by {sponsor}, and notification "
    "of regulatory inspections and their findings. Confirm that you accept these responsibilities or state your "
    "exceptions.",
    "INTEGRATED": "Quality agreements will be concluded before any GMP or clinical work. For manufacturing: release "
    "testing and batch disposition, deviations and out-of-specification investigations, change control with prior "
    "notification to {sponsor}, complaints and recalls, subcontracting. For the clinical services: SOPs and "
    "deviations, CAPA, oversight of trial sites and subcontractors, data integrity. For both: audits by {sponsor} "
    "and notification of regulatory inspections and their findings. Confirm that you accept these "
    "responsibilities or state your exceptions.",
}

QP_RELEASE = {"key": "qp_release", "title": "QP release and import testing", "body": "{qp_release}"}
REGULATORY = {
    "key": "regulatory",
    "title": "Regulatory requirements",
    "body": "Target authorities: {authorities}. Please state:\n\n{regulatory}",
}
TECH_TRANSFER = {
    "key": "tech_transfer",
    "title": "Technology transfer",
    "body": "Describe your technology-transfer approach: the transfer package you expect (process description "
    "with parameters and ranges, analytical methods, raw-material specifications, in-process controls, critical "
    "process parameters), knowledge-transfer sessions, a formal gap analysis against your equipment, and "
    "demonstration or engineering batches, with the time and cost you foresee.",
}

IP = {
    "MANUFACTURING": "Foreground IP created in this program is assigned to {sponsor} (assignment, not only a "
    "licence). It includes improvements to our process, analytical methods and formulation, and the process "
    "know-how generated for our product. Background IP, your platform technologies included, remains yours; where "
    "our product needs it, you grant {sponsor} a licence to use it, including to make the product at another site. "
    "You will transfer the process know-how on request, cooperate with patent prosecution, and {sponsor} keeps "
    "audit rights. State any exceptions.",
    "CRO": "Results, data and reports produced in this program, and the improvements and know-how generated with "
    "our information, are assigned to {sponsor} (assignment, not only a licence). Background IP, your own tools "
    "and standard methods included, remains yours, with a licence to {sponsor} where our results need it. You "
    "will cooperate with patent prosecution, and {sponsor} keeps audit rights. State any exceptions.",
}

PRICING = {
    "CRO": "full-time-equivalent (FTE) rates, a fixed price per work package, time and materials, or "
    "milestone-based payments",
    "CMO": "a price per batch, per campaign, cost-plus, or take-or-pay (reserved capacity), with technology-transfer "
    "fees stated separately",
    "CDMO": "development fees (a fixed price per work package, or FTE rates), a technology-transfer fee, and "
    "manufacturing per batch, per campaign, cost-plus or take-or-pay (reserved capacity)",
    "INTEGRATED": "for development and manufacturing, development fees, a technology-transfer fee and a price per "
    "batch, per campaign, cost-plus or take-or-pay; for the clinical services, FTE rates, a fixed price per work "
    "package, time and materials, or milestone-based payments",
}


COST_ITEMS = {
    "CRO": "labour by role, investigator and site fees, travel and other pass-through costs",
    "CMO": "batches, materials, testing and stability, technology transfer, pass-through costs",
    "CDMO": "development work packages, technology transfer, batches, materials, testing and stability, "
    "pass-through costs",
    "INTEGRATED": "development work packages, technology transfer, batches, materials, testing and stability, "
    "clinical services by role, investigator and site fees, pass-through costs",
}


def _commercial(kind: str) -> dict:
    return {
        "key": "commercial",
        "title": "Commercial model",
        "body": f"State the pricing model you propose — {PRICING[kind]} — and break your costs down in the **Cost "
        "breakdown** sheet of the questionnaire: one line per item with its pricing basis, quantity, unit, unit "
        f"price and currency ({COST_ITEMS[kind]}). "
        "State what the prices include, how long they stand, your payment terms, and the assumptions behind them "
        "(volumes, numbers of batches, sites or patients).",
    }


TIMELINE = {
    "key": "timeline",
    "title": "Timeline",
    "body": "- RFP issued: {issue_date}\n- Questions due: {questions_due}\n- Proposals due: {proposal_due}\n"
    "- Presentations: {presentations}\n- Award decision: {award_decision}",
}
SUBMISSION = {
    "key": "submission",
    "title": "Submission instructions",
    "body": "Send your proposal and the completed questionnaire (the XLSX in this packet, its Cost breakdown sheet "
    "included) to {contact_email} by {proposal_due}, quoting reference {rfp_id}. Late or incomplete proposals may "
    "not be considered.",
}

QUESTIONS_START = [
    (
        "Scope fit",
        "Which parts of the scope of work would you perform yourselves, at which sites, and which would you subcontract?",
    ),
    ("Scope fit", "Describe three comparable programs you delivered in the last five years."),
    (
        "Regulatory track record",
        "List the regulatory inspections of the proposed sites in the last five years and their outcomes.",
    ),
    (
        "Regulatory track record",
        "Have you received an FDA warning letter or an EU statement of non-compliance? If so, describe the remediation.",
    ),
]
QUESTIONS_MANUFACTURING = [
    (
        "Scale flexibility",
        "What batch sizes can you run now at the proposed sites, and what investment would launch volumes need?",
    ),
    (
        "Scale flexibility",
        "Which manufacturing slots can you commit to in the next 18 months, and how much notice do you need for more?",
    ),
    ("Supply chain", "Which materials are single-sourced, and how do you mitigate that risk?"),
    (
        "Technology transfer",
        "Describe a recent technology transfer into or out of your site: duration, batches, issues.",
    ),
]
QUESTIONS_CLINICAL = [
    ("Delivery", "Give your start-up and enrolment timelines for comparable studies, and how often you met them."),
    ("Delivery", "How would you scale the team and the sites if the program grows into its next phase?"),
]
QUESTIONS_END = [
    ("Quality systems", "Describe your deviation, CAPA and change-control processes and their typical cycle times."),
    ("Quality systems", "Will you accept our quality agreement template? List your exceptions."),
    (
        "Cultural fit and communication",
        "Who would be our project manager, and how do you report progress and escalate issues?",
    ),
    (
        "Commercial",
        "Which pricing model do you propose? Give your costs in the Cost breakdown sheet, one line per item.",
    ),
    (
        "Intellectual property",
        "State any exceptions to the IP terms, improvements to the process and know-how included.",
    ),
]


def template_for(kind: str) -> dict:
    """The current packet texts of a partner kind (the newest version the migrations ship)."""
    manufacturing = kind != "CRO"
    flavour = "INTEGRATED" if kind == "INTEGRATED" else ("MANUFACTURING" if manufacturing else "CRO")
    sections = [
        INTRODUCTION,
        CONFIDENTIALITY,
        BACKGROUND,
        {"key": "scope", "title": "Scope of work", "body": SCOPES[kind]},
        {"key": "requirements_technical", "title": "Technical requirements", "body": TECHNICAL[flavour]},
        CAPACITY if manufacturing else TEAM_AVAILABILITY,
        *([SUPPLY_CHAIN] if manufacturing else []),
        {"key": "quality_agreement", "title": "Quality agreement", "body": QUALITY[flavour]},
        QP_RELEASE,
        REGULATORY,
        *([TECH_TRANSFER] if manufacturing else []),
        {"key": "ip", "title": "Intellectual property", "body": IP["MANUFACTURING" if manufacturing else "CRO"]},
        _commercial(kind),
        TIMELINE,
        SUBMISSION,
    ]
    questions = [
        *QUESTIONS_START,
        *(QUESTIONS_MANUFACTURING if manufacturing else []),
        *(QUESTIONS_CLINICAL if kind in ("CRO", "INTEGRATED") else []),
        *QUESTIONS_END,
    ]
    return {
        "name": f"{kind} request for proposals",
        "sections": [dict(section) for section in sections],
        "questions": [{"criterion": c, "question": q} for c, q in questions],
    }
