"""Notifications: inbox and e-mail for approvals, decisions, invitations, overdue CAPAs, requalification."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.core.management import call_command

from accounts.models import Notification
from audits import services as audit_services
from audits.reminders import send_reminders
from scoring import services
from tests.factories import SiteFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_evaluators_are_invited_by_any_path(api_as, users, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        evaluation = services.evaluation_create(
            lead=users["procurement"], name="Sterile", evaluators=[users["evaluator"]]
        )
    note = Notification.objects.get(recipient=users["evaluator"])
    assert note.kind == "invited" and "Sterile" in note.subject and note.url == evaluation.get_absolute_url()
    assert [m.to for m in mail.outbox] == [["evaluator@example.com"]]
    second = UserFactory(username="qa-evaluator", roles=["Evaluator"])
    response = api_as("procurement").patch(
        f"/api/v1/evaluations/{evaluation.pk}/", {"evaluators": ["evaluator", "qa-evaluator"]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert Notification.objects.filter(recipient=second, kind="invited").count() == 1
    assert Notification.objects.filter(recipient=users["evaluator"]).count() == 1  # not invited twice


def test_inbox_page_marks_read_and_follows_only_local_links(client_as, users):
    Notification.objects.create(recipient=users["evaluator"], kind="invited", subject="Local", url="/evaluations/")
    evil = Notification.objects.create(
        recipient=users["evaluator"], kind="invited", subject="Elsewhere", url="//evil.example/"
    )
    client = client_as("evaluator")
    page = client.get("/inbox/").content.decode()
    assert "Local" in page and "Elsewhere" in page and "Unread" in page
    home = client.get("/").content.decode()
    assert "2 unread" in home
    first = Notification.objects.get(subject="Local")
    assert client.post(f"/inbox/{first.pk}/open/")["Location"] == "/evaluations/"
    assert client.post(f"/inbox/{evil.pk}/open/")["Location"] == "/inbox/"
    assert not Notification.objects.filter(read_at=None).exists()
    other = client_as("manager").post(f"/inbox/{first.pk}/open/")
    assert other.status_code == 404


def test_notifications_api_is_per_user(api_as, users):
    mine = Notification.objects.create(recipient=users["manager"], kind="invited", subject="Mine")
    Notification.objects.create(recipient=users["auditor"], kind="invited", subject="Theirs")
    api = api_as("manager")
    data = api.get("/api/v1/notifications/?unread=true").json()
    assert [n["subject"] for n in data["results"]] == ["Mine"]
    assert api.post(f"/api/v1/notifications/{mine.pk}/read/").json() == {"marked": 1}
    assert api.get("/api/v1/notifications/?unread=true").json()["results"] == []
    assert api.post("/api/v1/notifications/read-all/").json() == {"marked": 0}


def _overdue_capa(users):
    today = date.today()
    audit = audit_services.audit_create(
        user=users["auditor"],
        site=SiteFactory(),
        type="routine",
        planned_start=today - timedelta(days=60),
        planned_end=today - timedelta(days=58),
    )
    audit = audit_services.audit_transition(audit=audit, user=users["auditor"], action="start")
    finding = audit_services.finding_add(
        audit=audit,
        user=users["auditor"],
        severity="major",
        area="documentation",
        description="Gaps",
        capa_due_date=today + timedelta(days=1),
    )
    capa = finding.capa
    type(capa).objects.filter(pk=capa.pk).update(due_date=today - timedelta(days=1))
    return audit


def test_reminders_once_per_due_date(users, django_capture_on_commit_callbacks):
    audit = _overdue_capa(users)
    site = SiteFactory(requalification_due=date.today() + timedelta(days=20))
    with django_capture_on_commit_callbacks(execute=True):
        first = send_reminders()
    assert first == {"capa_overdue": 1, "requalification_due": 1}
    capa_note = Notification.objects.get(kind="capa_overdue")
    assert capa_note.recipient == users["auditor"] and capa_note.url == audit.get_absolute_url()
    requal = Notification.objects.get(kind="requalification_due")
    assert requal.recipient == users["auditor"] and site.name in requal.subject
    assert {tuple(m.to) for m in mail.outbox} == {("auditor@example.com",)} and len(mail.outbox) == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert send_reminders() == {"capa_overdue": 0, "requalification_due": 0}
    assert Notification.objects.count() == 2


def test_send_reminders_command(users, capsys):
    _overdue_capa(users)
    call_command("send_reminders")
    assert "capa_overdue: 1" in capsys.readouterr().out
    assert Notification.objects.get().emailed  # the command sends what is unsent


def test_manager_dashboard(client_as, api_as, reviewed, users):
    from tests.scoring.test_shortlists import submitted

    shortlist = submitted(api_as, reviewed)
    page = client_as("manager").get("/").content.decode()
    assert "Awaiting your approval" in page and shortlist.get_absolute_url() in page
    assert "Evaluations in progress" in page and "Sterile fill" in page
    evaluator_home = client_as("evaluator").get("/").content.decode()
    assert "Sterile fill" in evaluator_home and "No evaluations to score yet" not in evaluator_home
