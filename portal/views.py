"""The supplier portal's pages: sign-in by e-mailed link plus one-time code, then one RFP's overview
for the invited vendor with its operations (intent, questions, uploads, packet downloads).

Thin callers of rfp.bidding. The portal session is `portal.access`; `request.user` is never read.
A refusal of the sign-in is a page of its own with the refusal's status; a refusal of an operation
is shown on the overview, under the form's field, with the refusal's status.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import refusals_on_page
from core.storage import open_or_404
from oversight import agreements as quality_agreements
from oversight.forms_qa import VendorSignForm
from portal import access, selectors, uploads
from portal.forms import CodeForm, IntentForm, LinkRequestForm, QuestionForm, UploadForm
from rfp import awards, bidding
from rfp.bidding import PortalError
from rfp.models import Invitation, Participation, SealedUpload


def portal_page(view):
    """The view gets the session's active invitation; without one, the sign-in page."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        had_session = access.SESSION_KEY in request.session
        invitation = access.current_invitation(request)
        if invitation is None:
            if had_session:
                messages.info(request, "Your portal session has ended. Request a new sign-in link below.")
            return redirect("portal:sign-in")
        with access.acting_as(invitation):
            return view(request, invitation, *args, **kwargs)

    return never_cache(wrapped)


# --- Sign-in --------------------------------------------------------------------------------------


def _refused(request, error: PortalError, *, title: str = "This link cannot be used"):
    return render(request, "portal/refused.html", {"title": title, "message": error.message}, status=error.status)


def _locked(invitation: Invitation) -> bool:
    return bool(invitation.locked_until and invitation.locked_until > timezone.now())


@never_cache
@require_http_methods(["GET", "POST"])
def link(request, token: str):
    """GET shows whose invitation it is and offers to send a code (it changes nothing: mail scanners
    open links); POST action=send e-mails a code, POST action=verify checks it and signs in."""
    try:
        invitation = bidding.link_invitation(token)
    except PortalError as error:
        return _refused(request, error)
    context = {"invitation": invitation, "rfp": invitation.rfp, "masked": access.masked_email(invitation.email)}
    action = request.POST.get("action") if request.method == "POST" else None
    if action:
        access.acting_as(invitation)  # the code's and the sign-in's writes, in the request's trail context
    if action == "send":
        try:
            bidding.code_send(token=token)
        except PortalError as error:
            if error.status != 429 or _locked(invitation):
                return _refused(request, error, title="We could not send a code")
            messages.info(request, error.message)  # sent moments ago: the code form, with the code already sent
        else:
            messages.success(request, f"We sent a one-time code to {context['masked']}.")
        return render(request, "portal/link.html", {**context, "form": CodeForm()})
    if action == "verify":
        form = CodeForm(request.POST)
        if form.is_valid():
            try:
                invitation = bidding.code_verify(token=token, code=form.cleaned_data["code"])
            except PortalError as error:
                if error.field != "code" or error.status == 429:
                    return _refused(request, error, title="Signing in is not possible now")
                form.add_error("code", error.message)
                return render(request, "portal/link.html", {**context, "form": form}, status=error.status)
            access.sign_in(request, invitation)
            return redirect("portal:home")
        return render(request, "portal/link.html", {**context, "form": form}, status=400)
    return render(request, "portal/link.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request):
    """A new link by e-mail; the answer is the same whether or not the address is invited."""
    form = LinkRequestForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            with refusals_on_page(request, form) as outcome:
                bidding.link_request(email=form.cleaned_data["email"])
            if not outcome.refused:
                messages.success(
                    request,
                    "If this address has an active invitation, we have sent a new link to it. "
                    "The link works once; it asks for a one-time code sent to the same address.",
                )
                return redirect("portal:sign-in")
        return render(request, "portal/sign_in.html", {"form": form}, status=400)
    return render(request, "portal/sign_in.html", {"form": form})


@require_POST
def sign_out(request):
    access.sign_out(request)
    messages.success(request, "You have signed out of the supplier portal.")
    return redirect("portal:sign-in")


# --- The RFP's overview and its operations -----------------------------------------------------------


def _home(request, invitation: Invitation, *, status: int = 200, **forms):
    data = selectors.overview(invitation)
    participation = data.participation
    context = {
        "o": data,
        "rfp": data.rfp,
        "invitation": invitation,
        "signed_in": True,
        "questions": selectors.questions(invitation),
        "notice": awards.vendor_notice(invitation),  # the award or regret letter, once approved
        "intent_form": IntentForm(
            initial={"intent": participation.intent or None, "reason": participation.intent_reason}
        ),
        "question_form": QuestionForm(),
        "upload_form": UploadForm(),
        **forms,
    }
    return render(request, "portal/home.html", context, status=status)


@portal_page
@require_GET
def home(request, invitation: Invitation):
    return _home(request, invitation)


@portal_page
@require_POST
def intent(request, invitation: Invitation):
    form = IntentForm(request.POST)
    if form.is_valid():
        with refusals_on_page(request, form) as outcome:
            participation = bidding.intent_declare(invitation=invitation, **form.cleaned_data)
        if not outcome.refused:
            if participation.intent == Participation.Intent.BID:
                messages.success(request, "Thank you: the sponsor knows you intend to bid.")
            else:
                messages.success(
                    request, "Recorded: you decline this RFP. You can change your mind before the deadline."
                )
            return redirect("portal:home")
        return _home(request, invitation, status=outcome.error.status, intent_form=form)
    return _home(request, invitation, status=400, intent_form=form)


@portal_page
@require_POST
def questions(request, invitation: Invitation):
    form = QuestionForm(request.POST)
    if form.is_valid():
        with refusals_on_page(request, form) as outcome:
            bidding.question_ask(invitation=invitation, **form.cleaned_data)
        if not outcome.refused:
            messages.success(request, "Your question was sent to the sponsor. Its answer will appear below.")
            return redirect("portal:home")
        return _home(request, invitation, status=outcome.error.status, question_form=form)
    return _home(request, invitation, status=400, question_form=form)


def _receipt(sealed: SealedUpload) -> str:
    return (
        f"Received {sealed.original_name} ({filesizeformat(sealed.size)}) at "
        f"{timezone.localtime(sealed.uploaded_at):%d %B %Y %H:%M %Z}. SHA-256: {sealed.sha256}"
    )


@csrf_protect
def _upload(request, invitation: Invitation):
    form = UploadForm(request.POST, request.FILES)
    refused = uploads.refusal(request)
    if refused is not None:  # too large, or a name with folders or control characters: nothing was kept
        form.errors["file"] = form.error_class([refused.message])
        return _home(request, invitation, status=refused.status, upload_form=form)
    if form.is_valid():
        with refusals_on_page(request, form) as outcome:
            sealed = bidding.upload_add(
                invitation=invitation, part=form.cleaned_data["part"], upload=form.cleaned_data["file"]
            )
        if not outcome.refused:
            messages.success(request, _receipt(sealed))
            return redirect("portal:home")
        return _home(request, invitation, status=outcome.error.status, upload_form=form)
    return _home(request, invitation, status=400, upload_form=form)


@never_cache
@csrf_exempt  # CSRF is checked by `_upload`, once the body is read with the portal's checks
@require_POST
def upload(request):
    """A sealed upload, streamed to a temporary file past FILE_UPLOAD_MAX_MEMORY_SIZE, and dropped
    while it arrives once it passes the size limit (portal.uploads). The session is checked before
    the body is read."""
    invitation = access.current_invitation(request)
    if invitation is None:
        return redirect("portal:sign-in")
    uploads.prepare(request)
    with access.acting_as(invitation):
        return _upload(request, invitation)


@portal_page
@require_GET
def download(request, invitation: Invitation, packet_id: int, part: str):
    """The vendor's own packet, recorded as downloaded; another vendor's packet id is not found."""
    with refusals_on_page(request):
        packet = bidding.packet_download(invitation=invitation, packet_id=packet_id, part=part)
    return packet_response(packet, part)


def packet_response(packet, part: str) -> FileResponse:
    field, _label, content_type, _suffix = selectors.PACKET_PARTS[part]
    (named,) = [p for p in selectors.packet_parts(packet) if p.part == part]
    response = FileResponse(open_or_404(getattr(packet, field)), as_attachment=True, filename=named.filename)
    response["Content-Type"] = content_type
    response["Cache-Control"] = "private, no-store"
    return response


@portal_page
@require_GET
def notice(request, invitation: Invitation, notice_id: int):
    """The vendor's own award or regret notice (PDF); another vendor's notice id is not found."""
    with refusals_on_page(request):
        found = awards.vendor_notice_download(invitation=invitation, notice_id=notice_id)
    response = FileResponse(
        open_or_404(found.pdf), as_attachment=True, filename=f"{invitation.rfp.reference}-{found.kind}-notice.pdf"
    )
    response["Content-Type"] = "application/pdf"
    response["Cache-Control"] = "private, no-store"
    return response


# --- Quality agreements to countersign (oversight) --------------------------------------------------------


def _agreements_page(request, invitation: Invitation, *, status: int = 200, failed: int | None = None, form=None):
    items = quality_agreements.vendor_agreements(invitation.candidate.vendor_id)
    context = {
        "invitation": invitation,
        "rfp": invitation.rfp,
        "signed_in": True,
        "items": [{"agreement": a, "sections": quality_agreements.sections_of(a)} for a in items],
        "form": VendorSignForm(),
        "failed": failed,
        "failed_form": form,
    }
    return render(request, "portal/agreements.html", context, status=status)


@portal_page
@require_GET
def agreements(request, invitation: Invitation):
    """The vendor's quality agreements signed by the sponsor's QA: to countersign, or in force."""
    return _agreements_page(request, invitation)


@portal_page
@require_POST
def agreement_sign(request, invitation: Invitation, agreement_id: int):
    """The vendor signs: typed name and title, the confirmation; the time and IP address are recorded."""
    form = VendorSignForm(request.POST)
    if form.is_valid():
        with refusals_on_page(request, form, success="Signed: the quality agreement is in force.") as outcome:
            quality_agreements.vendor_sign(
                agreement_id=agreement_id,
                vendor_id=invitation.candidate.vendor_id,
                ip=request.META.get("REMOTE_ADDR"),
                identity=f"{invitation.name} <{invitation.email}>, invitation #{invitation.pk}",
                **form.cleaned_data,
            )
        if not outcome.refused:
            return redirect("portal:agreements")
        return _agreements_page(request, invitation, status=outcome.error.status, failed=agreement_id, form=form)
    return _agreements_page(request, invitation, status=400, failed=agreement_id, form=form)
