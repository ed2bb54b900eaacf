"""Electronic signatures: re-authenticate, hash exactly what is signed, verify later.

Shared by audit reports and (next) shortlist approvals.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC

from django.contrib.auth import authenticate
from django.contrib.contenttypes.models import ContentType
from django.core.mail import mail_admins
from django.utils import timezone

from accounts.models import RefusedAttempt, Signature
from core.errors import ServiceError

logger = logging.getLogger("vendorselect.signatures")


class SignatureError(ServiceError):
    """The signer's password was not correct: refused as invalid input of the password field."""

    field = "password"


def signature_hash(
    *,
    content_type: ContentType,
    object_id: int,
    snapshot: dict,
    signer_id: int,
    printed_name: str,
    meaning: str,
    signed_at,
) -> str:
    """SHA-256 binding who signed (id and printed name), what it means, when (UTC), and exactly what:
    the record's identity and its canonical JSON snapshot. Reassigning a signature to another
    signer, meaning or time, or moving it to another record, no longer verifies."""
    payload = json.dumps(
        {
            "record": [content_type.app_label, content_type.model, object_id],
            "content": snapshot,
            "signer": [signer_id, printed_name],
            "meaning": meaning,
            "signed_at": signed_at.astimezone(UTC).isoformat(timespec="microseconds"),
        },
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
    """The signature row, bound by hash to the signer, meaning, time, record and snapshot (after reauthenticate)."""
    signature = Signature(
        signer=user,
        printed_name=user.printed_name,
        meaning=meaning,
        signed_at=timezone.now(),
        content_type=ContentType.objects.get_for_model(record),
        object_id=record.pk,
        snapshot=snapshot,
    )
    signature.record_hash = _hash_of(signature, snapshot)
    signature.save()
    return signature


def _hash_of(signature: Signature, snapshot: dict) -> str:
    return signature_hash(
        content_type=ContentType.objects.get_for_id(signature.content_type_id),
        object_id=signature.object_id,
        snapshot=snapshot,
        signer_id=signature.signer_id,
        printed_name=signature.printed_name,
        meaning=signature.meaning,
        signed_at=signature.signed_at,
    )


def record_refusal(*, user, record, action: str, reason: str) -> None:
    """Keep a refused signing or decision for the trail: inspectors ask what was tried, too.
    Call it outside the transaction that the refusal rolled back."""
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
    """True while the signature row and the record are exactly what was signed, on that record."""
    return (
        signature.object_id == record.pk
        and signature.content_type_id == ContentType.objects.get_for_model(record).pk
        and signature.record_hash == _hash_of(signature, signature.snapshot)
        and signature.record_hash == _hash_of(signature, current_snapshot)
    )
