"""A world for the supplier portal: an RFP to the two vendors of an approved shortlist, each with an
invited contact whose e-mailed link the tests follow, and helpers that sign in as the vendor would
(the link and the one-time code read from Django's mail outbox)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from urllib.parse import urlparse

import pytest
from django.core import mail
from pypdf import PdfWriter

from rfp import bidding
from rfp import services as rfp_services
from rfp.models import Invitation, Packet

LINK = re.compile(r"https?://\S+?(/portal/i/[A-Za-z0-9_-]+/)")
CODE = re.compile(r"\bis (\d{6})\.")


@dataclass
class Invited:
    invitation: Invitation
    link: str  # the path of the e-mailed link

    @property
    def vendor(self) -> str:
        return self.invitation.candidate.vendor.name


def last_link(outbox=None) -> str:
    for message in reversed(outbox if outbox is not None else mail.outbox):
        found = LINK.search(message.body)
        if found:
            return found.group(1)
    raise AssertionError("No portal link was e-mailed.")


def last_code(email: str) -> str:
    for message in reversed(mail.outbox):
        if email in message.to and (found := CODE.search(message.body)):
            return found.group(1)
    raise AssertionError(f"No one-time code was e-mailed to {email}.")


def invite(rfp, lead, candidate, email: str, name: str = "Jane Doe", *, capture) -> Invited:
    with capture(execute=True):
        invitation = bidding.invite(rfp=rfp, user=lead, candidate_id=candidate.pk, name=name, email=email)
    return Invited(invitation, urlparse(last_link()).path)


@pytest.fixture
def invited(rfp, users, django_capture_on_commit_callbacks) -> list[Invited]:
    """Jane of the first vendor and Omar of the second, invited by the lead (the links went by e-mail)."""
    first, second = bidding.invitable_candidates(rfp)
    lead = users["procurement"]
    return [
        invite(rfp, lead, first, "jane@vendor-a.example", "Jane Doe", capture=django_capture_on_commit_callbacks),
        invite(rfp, lead, second, "omar@vendor-b.example", "Omar Haddad", capture=django_capture_on_commit_callbacks),
    ]


@pytest.fixture
def packets(rfp, users, django_capture_on_commit_callbacks) -> list[Packet]:
    """Both vendors' packets, rendered by the real worker step (eager tasks): real PDFs, XLSX and ZIPs."""
    with django_capture_on_commit_callbacks(execute=True):
        rfp_services.rfp_generate(rfp=rfp, user=users["procurement"])
    packets = list(Packet.objects.filter(rfp=rfp).select_related("candidate__vendor"))
    assert packets and all(p.status == Packet.Status.DONE for p in packets), [p.error for p in packets]
    return packets


def sign_in(client, invited: Invited):
    """Open the link, have a code sent, enter it: the portal's home."""
    assert client.get(invited.link).status_code == 200
    assert client.post(invited.link, {"action": "send"}).status_code == 200
    response = client.post(invited.link, {"action": "verify", "code": last_code(invited.invitation.email)})
    assert response.status_code == 302 and response["Location"] == "/portal/", response.content[:2000]
    return client


def pdf_bytes(text_pages: int = 1, padding: int = 0) -> bytes:
    """A real PDF (pypdf), optionally padded with a stream of `padding` bytes to make it large."""
    writer = PdfWriter()
    for _ in range(text_pages):
        writer.add_blank_page(width=595, height=842)
    if padding:
        writer.add_metadata({"/Padding": "x" * padding})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def multipart(fields: dict[str, str], file_field: str, filename: str, content: bytes, content_type: str):
    """A multipart body built by hand, with the file name exactly as given (Django's test client
    would reduce it to its base name first)."""
    boundary = "----portal-test-boundary-7d9f"
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode("utf-8", "surrogateescape")
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
