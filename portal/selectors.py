"""What the portal shows a vendor: one RFP's vendor-facing data, read through rfp.bidding.

Nothing of the sponsor's own evaluation reaches here (no scores, shortlist, other vendors' names):
the RFP's title, sponsor, dates and contact, this vendor's packet, intent, questions and uploads,
and the answers published to every vendor (without who asked).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import prefetch_related_objects
from django.urls import reverse
from django.utils import timezone

from rfp import bidding, rendering
from rfp.models import Invitation, Packet, Participation, Question, Rfp, SealedUpload

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# part -> (Packet field, label, content type, file name suffix)
PACKET_PARTS = {
    "pdf": ("pdf", "RFP document (PDF)", "application/pdf", ".pdf"),
    "questionnaire": ("questionnaire", "Response questionnaire (XLSX)", XLSX, "-questionnaire.xlsx"),
    "bundle": ("bundle", "Everything as one ZIP", "application/zip", ".zip"),
}


@dataclass
class PacketPart:
    part: str
    label: str
    content_type: str
    filename: str
    url: str
    api_url: str


@dataclass
class Overview:
    invitation: Invitation
    rfp: Rfp
    reference: str
    vendor: str
    participation: Participation
    questions_due: datetime
    questions_open: bool
    proposal_due: datetime
    extended: bool
    before_deadline: bool
    uploads_open: bool
    packet: Packet | None
    parts: list[PacketPart]
    uploads: list[SealedUpload]


def packet_parts(packet: Packet | None) -> list[PacketPart]:
    if packet is None:
        return []
    stem = rendering.file_stem(packet)  # the names the sponsor's downloads give too
    return [
        PacketPart(
            part=part,
            label=label,
            content_type=content_type,
            filename=f"{stem}{suffix}",
            url=reverse("portal:download", args=[packet.pk, part]),
            api_url=reverse("portal:api-download", args=[packet.pk, part]),
        )
        for part, (field, label, content_type, suffix) in PACKET_PARTS.items()
        if getattr(packet, field)
    ]


def uploads(invitation: Invitation) -> list[SealedUpload]:
    """The vendor's own submitted files, newest first, with who of its people uploaded each."""
    rows = sorted(bidding.own_uploads(invitation), key=lambda u: (u.uploaded_at, u.pk), reverse=True)
    prefetch_related_objects(rows, "uploaded_by")
    return rows


def questions(invitation: Invitation) -> list[Question]:
    """The vendor's own questions and the answers published to every vendor; `own` marks which."""
    rows = bidding.vendor_questions(invitation)
    for question in rows:
        question.own = question.candidate_id == invitation.candidate_id  # type: ignore[attr-defined]
    return rows


def overview(invitation: Invitation) -> Overview:
    rfp = invitation.rfp
    now = timezone.now()
    participation = bidding.participation_of(invitation)
    proposal_due = bidding.vendor_deadline(rfp, participation)
    questions_due = bidding.questions_deadline(rfp)
    packet = bidding.vendor_packet(invitation)
    return Overview(
        invitation=invitation,
        rfp=rfp,
        reference=rfp.reference,
        vendor=invitation.candidate.vendor.name,
        participation=participation,
        questions_due=questions_due,
        questions_open=now < questions_due,
        proposal_due=proposal_due,
        extended=proposal_due > bidding.proposal_deadline(rfp),
        before_deadline=now < proposal_due,
        uploads_open=now < proposal_due and participation.intent != Participation.Intent.DECLINE,
        packet=packet,
        parts=packet_parts(packet),
        uploads=uploads(invitation),
    )
