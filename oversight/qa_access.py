"""Who may do what with quality agreements and risk-based requalification, and their refusal type.

Quality assurance writes and signs (agreements, the risk matrix); managers, procurement leads and
auditors read (they follow the sites after the award); evaluators and admins are not involved."""

from __future__ import annotations

from typing import NoReturn

from accounts.roles import AUDITOR, MANAGER, PROCUREMENT_LEAD, QA, user_roles
from core.errors import ServiceError

READERS = {QA, MANAGER, PROCUREMENT_LEAD, AUDITOR}


class OversightError(ServiceError):
    """A refused action on a quality agreement, the risk matrix or a risk assessment."""


def refuse(message: str, field: str | None = None, status: int = 400) -> NoReturn:
    raise OversightError(message, field, status)


def can_read(user) -> bool:
    return bool(set(user_roles(user)) & READERS)


def can_write(user) -> bool:
    """QA drafts, edits and signs agreements and edits the risk matrix."""
    return QA in user_roles(user)


def require_read(user) -> None:
    if not can_read(user):
        refuse("Quality agreements and site risk are read by QA, managers, procurement leads and auditors.", status=403)


def require_write(user) -> None:
    if not can_write(user):
        refuse("Only quality assurance changes quality agreements and the risk matrix.", status=403)
