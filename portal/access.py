"""Who the portal is talking to: the invitation a portal session is bound to.

The portal has its own session key and never reads `request.user`: a sponsor user signed in in the
same browser gives the portal nothing, and a portal session gives the sponsor's pages and API
nothing (it holds no user). The invitation is loaded on every request by
`rfp.bidding.session_invitation`, so a revoked or expired invitation ends the session at once.
"""

from __future__ import annotations

from django.middleware.csrf import rotate_token

from core import trail
from rfp import bidding
from rfp.models import Invitation

SESSION_KEY = "portal_invitation"


def current_invitation(request) -> Invitation | None:
    """The session's invitation while it is active; a stale key is dropped from the session."""
    invitation_id = request.session.get(SESSION_KEY)
    if not invitation_id:
        return None
    invitation = bidding.session_invitation(invitation_id)
    if invitation is None:
        request.session.pop(SESSION_KEY, None)
    return invitation


def sign_in(request, invitation: Invitation) -> None:
    """Bind the session to the invitation, under a new session key and CSRF token (no fixation)."""
    request.session.cycle_key()
    request.session[SESSION_KEY] = invitation.pk
    rotate_token(request)


def sign_out(request) -> None:
    request.session.pop(SESSION_KEY, None)
    request.session.cycle_key()
    rotate_token(request)


def masked_email(email: str) -> str:
    """j•••@example.com: enough for the person to recognise the address, not to learn it."""
    local, _, domain = (email or "").partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


def acting_as(invitation: Invitation):
    """The trail's context for the writes a portal request makes (no user: the invited person).
    Entered as a block; called alone it adds to the request's context (pghistory's middleware)."""
    vendor = invitation.candidate.vendor.name
    return trail.context(portal=f"{invitation.name} <{invitation.email}>, {vendor} (supplier portal)")
