"""The seeded RFP templates (version 1 per partner kind), from the domain brief. Markdown with
{placeholders}; the criteria and their weights are added by the renderer, not written here."""

PLACEHOLDERS = {
    "sponsor": "the sponsor's name",
    "program": "the evaluation's name",
    "vendor": "the vendor's name",
    "kind": "the vendor's partner kind",
    "modality": "modality",
    "phase": "development phase",
    "dosage_form": "dosage form",
    "markets": "target markets (agencies)",
    "issue_date": "issue date",
    "questions_due": "questions due",
    "proposal_due": "proposal due",
    "presentations": "presentations",
    "award_decision": "award decision",
    "contact_name": "point of contact",
    "contact_email": "point of contact's e-mail",
    "rfp_id": "RFP reference",
}

COMMON_START = [
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

SCOPES = {
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

COMMON_END = [
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

QUESTIONS = [
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


def template_for(kind: str) -> dict:
    scope = {"key": "scope", "title": "Scope of work", "body": SCOPES[kind]}
    return {
        "name": f"{kind} request for proposals",
        "sections": [*COMMON_START, scope, *COMMON_END],
        "questions": [{"criterion": c, "question": q} for c, q in QUESTIONS],
    }
