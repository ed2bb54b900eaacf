"""The one error mapping: a service's refusal (core.errors.ServiceError and its family) becomes the
API's answer in DRF's EXCEPTION_HANDLER and a page's message or form error in refusals_on_page."""

from datetime import date, timedelta

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import RequestFactory
from rest_framework.exceptions import Throttled, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from accounts.signatures import SignatureError
from audits import services as audit_services
from audits.models import Audit, RecordLocked
from core.errors import Kind, ServiceError, refusals_on_page
from rfp.services import RfpError
from scoring.services import ScoringError
from tests.factories import SiteFactory
from vendors.importing import ImportFileError

TODAY = date.today()


class Raising(APIView):
    """An API view that raises whatever the test gives it (no authentication needed)."""

    permission_classes = [AllowAny]
    authentication_classes = []
    error: Exception | None = None

    def post(self, request):
        raise self.error


def _api(error: Exception):
    request = APIRequestFactory().post("/anything/", {}, format="json")
    return Raising.as_view(error=error)(request)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ServiceError("Wrong input."), 400),
        (ServiceError("Not yours.", kind=Kind.FORBIDDEN), 403),
        (ServiceError("No such record.", kind=Kind.NOT_FOUND), 404),
        (ServiceError("Not in this state.", kind=Kind.CONFLICT), 409),
        (ServiceError("Signed: add an amendment.", kind=Kind.LOCKED), 409),
        (ServiceError("Not yours.", status=403), 403),  # the services' long-standing spelling
        (ScoringError("Not in this state.", None, 409), 409),
        (RecordLocked("Findings are records and are never deleted."), 409),
    ],
)
def test_each_kind_answers_its_status_with_the_message_under_detail(error, code):
    response = _api(error)
    assert response.status_code == code == error.status
    assert response.data == {"detail": error.message}


def test_a_field_refusal_is_a_list_under_the_fields_name():
    response = _api(RfpError("Give the RFP a title.", "title"))
    assert response.status_code == 400
    assert response.data == {"title": ["Give the RFP a title."]}


def test_the_stray_refusals_are_in_the_family():
    signature = SignatureError("The password is not correct; nothing was signed.")
    assert isinstance(signature, ServiceError) and signature.field == "password" and signature.status == 400
    assert _api(signature).data == {"password": ["The password is not correct; nothing was signed."]}
    unreadable = ImportFileError("The file is empty.")
    assert unreadable.field == "file" and unreadable.kind == Kind.INVALID and str(unreadable) == "The file is empty."
    locked = RecordLocked("Amendments cannot be changed.")
    assert locked.kind == Kind.LOCKED and locked.field is None


def test_an_unknown_status_is_no_kind_of_refusal():
    with pytest.raises(ValueError, match="418"):
        ServiceError("Teapot.", status=418)


def test_other_exceptions_are_drfs_own():
    refused = _api(ValidationError({"name": ["This field is required."]}))
    assert refused.status_code == 400 and refused.data == {"name": ["This field is required."]}
    throttled = _api(Throttled(wait=5))
    assert throttled.status_code == 429 and throttled["Retry-After"] == "5" and "detail" in throttled.data
    assert _api(PermissionDenied("Django's own.")).status_code == 403
    with pytest.raises(ZeroDivisionError):  # not a refusal: a server error, raised on
        _api(ZeroDivisionError("boom"))


@pytest.mark.django_db
def test_refusals_from_services_reach_the_api_unchanged(api_as, users):
    client = api_as("auditor")
    site = SiteFactory()
    planned = {"site": site.pk, "type": "routine", "planned_start": str(TODAY), "planned_end": str(TODAY)}
    backwards = client.post("/api/v1/audits/", {**planned, "planned_end": str(TODAY - timedelta(days=1))})
    assert backwards.status_code == 400
    assert backwards.json() == {"planned_end": ["The audit cannot end before it starts."]}
    audit = client.post("/api/v1/audits/", planned, format="json").json()
    unknown = client.post(f"/api/v1/audits/{audit['id']}/transition/", {"action": "fly"}, format="json")
    assert unknown.status_code == 400 and list(unknown.json()) == ["action"]
    early = client.post(f"/api/v1/audits/{audit['id']}/transition/", {"action": "close"}, format="json")
    assert early.status_code == 409 and list(early.json()) == ["detail"]
    assert early.json()["detail"].startswith("You cannot close the audit while it is")
    unsigned = client.post(f"/api/v1/audits/{audit['id']}/sign/", {"password": "x"}, format="json")
    assert unsigned.status_code == 409 and "Only a drafted report" in unsigned.json()["detail"]


def _page_request():
    request = RequestFactory().post("/somewhere/")
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


class TitleForm(forms.Form):
    title = forms.CharField()


def test_a_page_refusal_becomes_a_message():
    request = _page_request()
    with refusals_on_page(request, success="Saved.") as outcome:
        raise ServiceError("Not in this state.", status=409)
    assert outcome.refused and outcome.error.status == 409
    assert [str(m) for m in get_messages(request)] == ["Not in this state."]


def test_a_page_without_refusal_says_its_success():
    request = _page_request()
    with refusals_on_page(request, success="Saved.") as outcome:
        pass
    assert not outcome.refused and [str(m) for m in get_messages(request)] == ["Saved."]


def test_a_page_refusal_goes_to_the_forms_field_or_to_the_form():
    request = _page_request()
    form = TitleForm({"title": "RFP"})
    assert form.is_valid()
    with refusals_on_page(request, form):
        raise ServiceError("Give a longer title.", "title")
    with refusals_on_page(request, form):
        raise ServiceError("No such field here.", "shortlist")
    assert form.errors == {"title": ["Give a longer title."], "__all__": ["No such field here."]}
    assert list(get_messages(request)) == []  # the form shows them


def test_a_quiet_page_refusal_is_left_to_the_caller():
    request = _page_request()
    with refusals_on_page(request, notify=False) as outcome:
        raise ScoringError("Scores are whole numbers from 1 to 5.", "value")
    assert outcome.error.message == "Scores are whole numbers from 1 to 5." and list(get_messages(request)) == []


def test_forbidden_and_not_found_pages_are_djangos_403_and_404():
    with pytest.raises(PermissionDenied, match="Not yours"), refusals_on_page(_page_request()):
        raise ServiceError("Not yours.", kind=Kind.FORBIDDEN)
    with pytest.raises(Http404, match="No such record"), refusals_on_page(_page_request()):
        raise ServiceError("No such record.", kind=Kind.NOT_FOUND)


def test_other_exceptions_pass_through_a_page():
    request = _page_request()
    with pytest.raises(KeyError), refusals_on_page(request, success="Saved."):
        raise KeyError("boom")
    assert list(get_messages(request)) == []


@pytest.mark.django_db
def test_a_refusal_on_a_real_page_shows_its_message(client_as, users):
    audit = audit_services.audit_create(
        user=users["auditor"], site=SiteFactory(), type="routine", planned_start=TODAY, planned_end=TODAY
    )
    client = client_as("auditor")
    response = client.post(f"/audits/{audit.pk}/transition/close/", follow=True)
    assert response.status_code == 200
    assert "You cannot close the audit while it is" in response.content.decode()
    assert Audit.objects.get(pk=audit.pk).status == "planned"
    signing = client.post(f"/audits/{audit.pk}/sign/", {"password": "x"}, follow=True)
    assert "Only a drafted report can be signed" in signing.content.decode()
    stranger = client_as("manager").post(f"/audits/{audit.pk}/transition/close/")
    assert stranger.status_code == 403  # "Only the lead auditor can close the audit": PermissionDenied
