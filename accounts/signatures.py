"""Electronic signatures: re-authenticate, hash exactly what is signed, verify later.

Shared by audit reports and (next) shortlist approvals.
"""

from __future__ import annotations

import hashlib
import json
import logging

from django.contrib.auth import authenticate
from django.contrib.contenttypes.models import ContentType
from django.core.mail import mail_admins

from accounts.models import Signature

logger = logging.getLogger("vendorselect.signatures")


class SignatureError(Exception):
    pass


def record_hash(record, snapshot: dict) -> str:
    """SHA-256 of the record's identity and its canonical JSON snapshot."""
    content_type = ContentType.objects.get_for_model(record)
    payload = json.dumps(
        {"record": [content_type.app_label, content_type.model, record.pk], "content": snapshot},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def reauthenticate(*, request, user, password: str, record) -> None:
    """The signer re-enters the password, even inside a session.

    Call it outside any transaction that a failure rolls back: a wrong password is logged,
    mailed to the administrators and counted by the lockout (axes), and that record must stay.
    """
    if password and authenticate(request, username=user.username, password=password) is not None:
        return
    logger.warning("Failed signature re-authentication by %s on %s %s", user.username, record._meta.label, record.pk)
    mail_admins(
        "Failed electronic-signature re-authentication",
        f"User {user.username} entered a wrong password while signing {record._meta.label} {record.pk}.",
        fail_silently=True,
    )
    raise SignatureError("The password is not correct; nothing was signed.")


def create(*, user, record, snapshot: dict, meaning: str) -> Signature:
    """The signature row, bound by hash to the record and its snapshot (after reauthenticate)."""
    return Signature.objects.create(
        signer=user,
        printed_name=user.printed_name,
        meaning=meaning,
        content_type=ContentType.objects.get_for_model(record),
        object_id=record.pk,
        snapshot=snapshot,
        record_hash=record_hash(record, snapshot),
    )


def record_refusal(*, user, record, action: str, reason: str) -> None:
    """Keep a refused signing or decision for the trail: inspectors ask what was tried, too.
    Call it outside the transaction that the refusal rolled back."""
    from accounts.models import RefusedAttempt

    RefusedAttempt.objects.create(
        user=user,
        action=action[:60],
        content_type=ContentType.objects.get_for_model(record),
        object_id=record.pk,
        reason=reason,
    )


def signatures_for(record):
    return Signature.objects.filter(content_type=ContentType.objects.get_for_model(record), object_id=record.pk)


def is_valid(signature: Signature, record, current_snapshot: dict) -> bool:
    """True while the record is exactly what was signed (and the signature is on that record)."""
    return (
        signature.object_id == record.pk
        and signature.record_hash == record_hash(record, current_snapshot)
        and signature.record_hash == record_hash(record, signature.snapshot)
    )
