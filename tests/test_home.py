"""Each role's home starts with its tasks, KPIs after: the lead's evaluations, shortlists and RFP dates; the
evaluator's grids to finish; the auditor's audits in progress, overdue CAPAs and requalifications due; the
signatures that managers and QA are waited for. The number of queries does not grow with the data."""

import re
from datetime import date, timedelta

import pytest

from accounts.roles import EVALUATOR
from audits import services as audit_services
from scoring import services as scoring_services
from tests.browsing import assert_no_console_errors, login, new_page, shot
from tests.factories import PASSWORD, SiteFactory, UserFactory, VendorFactory
from vendorselect import builders

pytestmark = pytest.mark.django_db
TODAY = date.today()


def _tasks(page: str) -> str:
    """The page's "Your tasks" part (what comes before the KPIs)."""
    start = page.index('id="tasks-heading"')
    after = [page.find(f'id="{name}-heading"') for name in ("oversight", "my-evaluations", "glance")]
    end = min(position for position in after if position > 0)
    assert start < end
    return page[start:end]


def _scoring(lead, evaluators, vendors, name):
    evaluation = scoring_services.evaluation_create(lead=lead, name=name, evaluators=evaluators)
    for vendor in vendors:
        scoring_services.candidate_add(evaluation=evaluation, user=lead, vendor=vendor)
    return scoring_services.evaluation_transition(evaluation=evaluation, user=lead, action="start_scoring")


def _lead_world(users, n: int = 1):
    """n of each: a draft, an evaluation in scoring, one in review without a shortlist, an approved shortlist
    with an RFP and one without."""
    lead, manager = users["procurement"], users["manager"]
    for i in range(n):
        scoring_services.evaluation_create(lead=lead, name=f"Draft {i}")
        _scoring(lead, [users["evaluator"]], [VendorFactory()], f"Scoring {i}")
        builders.reviewed_evaluation(
            lead=lead, evaluators=[users["evaluator"]], vendors=[VendorFactory()], name=f"Review {i}"
        )
        for with_rfp in (True, False):
            evaluation, candidates = builders.reviewed_evaluation(
                lead=lead, evaluators=[users["evaluator"]], vendors=[VendorFactory()], name=f"Awarding {i} {with_rfp}"
            )
            shortlist = builders.approved_shortlist(
                evaluation=evaluation, proposer=lead, approvers=[manager], candidates=candidates, password=PASSWORD
            )
            if with_rfp:
                builders.rfp_for(shortlist, lead, title=f"RFP {i}")


def test_lead_home_starts_with_evaluations_shortlists_and_rfp_deadlines(
    client_as, users, django_assert_max_num_queries
):
    _lead_world(users)
    client = client_as("procurement")
    with django_assert_max_num_queries(16):
        page = client.get("/").content.decode()
    tasks = _tasks(page)
    assert "Evaluations and shortlists" in tasks and "RFP deadlines in the next 45 days" in tasks
    assert "Add candidates and evaluators, set the weights, then start scoring." in tasks  # the empty draft
    assert "Scoring: 0 of 1 evaluators have submitted." in tasks
    assert "Propose the shortlist from the ranking." in tasks
    assert "issue the RFP." in tasks
    due = TODAY + timedelta(days=10)
    assert re.search(rf"RFP 0</a>.*?Questions due</strong> {due:%Y-%m-%d} \(in 10 days\)", tasks, re.S)
    # What needs the lead comes before what waits for others.
    assert tasks.index("Propose the shortlist") < tasks.index("Scoring: 0 of 1")
    assert "Vendors in the register" in page[page.index('id="glance-heading"') :]


def test_evaluator_home_lists_the_grids_to_finish(client_as, users):
    lead, evaluator = users["procurement"], users["evaluator"]
    vendors = [VendorFactory(), VendorFactory()]
    evaluation = _scoring(lead, [evaluator], vendors, "Peptide API")
    criterion = evaluation.scored_criteria().first()
    scoring_services.score_save(
        evaluation=evaluation,
        user=evaluator,
        candidate_id=evaluation.candidates.first().pk,
        criterion_id=criterion.pk,
        value=4,
    )
    builders.reviewed_evaluation(lead=lead, evaluators=[evaluator], vendors=[VendorFactory()], name="Submitted one")
    expected = evaluation.scored_criteria().count() * 2
    tasks = _tasks(client_as("evaluator").get("/").content.decode())
    assert "Scoring grids to finish" in tasks
    assert f'href="/evaluations/{evaluation.pk}/score/">Peptide API</a>' in tasks
    assert f"1 of {expected} scores" in tasks and f'max="{expected}" value="1"' in tasks
    assert "Submitted one" not in tasks  # submitted: nothing left to do


def test_auditor_home_shows_audits_in_progress_overdue_capas_and_requalification(client_as, users):
    auditor = users["auditor"]
    late = builders.audit_with_findings(
        site=SiteFactory(),
        auditor=auditor,
        started_on=TODAY - timedelta(days=40),
        findings=[
            {
                "severity": "major",
                "area": "deviations_capa",
                "description": "Deviations closed without root cause.",
                "capa_due_date": TODAY - timedelta(days=days),
                "confirm_past_due_date": True,
            }
            for days in (20, 5)
        ],
    )
    planned = audit_services.audit_create(
        user=auditor,
        site=SiteFactory(),
        type="routine",
        planned_start=TODAY + timedelta(days=7),
        planned_end=TODAY + timedelta(days=8),
    )
    others = UserFactory(username="auditor2", roles=["Auditor"])
    theirs = audit_services.audit_create(
        user=others,
        site=SiteFactory(vendor=VendorFactory(name="Not my audit")),
        type="routine",
        planned_start=TODAY,
        planned_end=TODAY,
    )
    due = SiteFactory(vendor=VendorFactory(name="Due for re-audit"), requalification_due=TODAY + timedelta(days=30))
    tasks = _tasks(client_as("auditor").get("/").content.decode())
    assert (
        "Your audits in progress" in tasks and late.get_absolute_url() in tasks and planned.get_absolute_url() in tasks
    )
    assert "Write the report and its recommendation, then sign it." in tasks
    assert "Start the audit when it begins." in tasks and theirs.get_absolute_url() not in tasks
    overdue = tasks[tasks.index("Overdue CAPAs on your audits") :]
    assert overdue.count("overdue since") == 2
    assert overdue.index(f"overdue since {TODAY - timedelta(days=20):%Y-%m-%d}") < overdue.index(
        f"overdue since {TODAY - timedelta(days=5):%Y-%m-%d}"
    )
    assert "Requalification due within 90 days" in tasks and f"{due.vendor.name} — {due.name}" in tasks


def test_manager_and_qa_homes_start_with_the_signatures_awaited(client_as, users, reviewed):
    evaluation, candidates = reviewed
    shortlist = builders.submitted_shortlist(
        evaluation=evaluation, proposer=users["procurement"], candidates=candidates[-2:]
    )
    awaiting = builders.signed_audit(
        site=SiteFactory(), auditor=users["auditor"], password=PASSWORD, recommendation="not_approved"
    )
    manager = _tasks(client_as("manager").get("/").content.decode())
    assert "Awaiting your approval" in manager and shortlist.get_absolute_url() in manager
    qa = _tasks(client_as("qa").get("/").content.decode())
    assert "Signed audit reports awaiting a qualification outcome" in qa and awaiting.get_absolute_url() in qa
    assert f"{awaiting.reference}" in qa and "recommended: Not approved" in qa


@pytest.mark.parametrize("role", ["procurement", "evaluator", "auditor", "manager", "qa", "admin"])
def test_each_home_stays_within_its_queries_as_the_data_grows(role, client_as, users, django_assert_max_num_queries):
    """With one of everything and with three: the same bound (the lists are bounded, the counts are subqueries)."""
    UserFactory(username="evaluator2", roles=[EVALUATOR])
    for added in (1, 2):  # one of everything, then three
        _lead_world(users, n=added)
        builders.audit_with_findings(
            site=SiteFactory(),
            auditor=users["auditor"],
            started_on=TODAY - timedelta(days=30),
            findings=[
                {
                    "severity": "minor",
                    "area": "training",
                    "description": "Training plan outdated.",
                    "capa_due_date": TODAY - timedelta(days=1),
                    "confirm_past_due_date": True,
                }
            ],
        )
        client = client_as(role)
        with django_assert_max_num_queries(16):
            assert client.get("/").status_code == 200


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_on_a_phone_the_auditor_sees_the_tasks_first(browser, live_server, demo):
    page = new_page(browser, live_server.url)
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "auditor")
    page.get_by_role("heading", name="Auditor home").wait_for()
    tasks = page.get_by_role("heading", name="Overdue CAPAs on your audits")
    kpis = page.get_by_role("heading", name="The register at a glance")
    assert tasks.bounding_box()["y"] < 844 < kpis.bounding_box()["y"]  # the tasks on the first screen
    overdue = page.locator("section", has=tasks)
    assert overdue.get_by_text(re.compile("overdue since")).count() >= 1
    shot(page, "home-auditor-phone")
    page.context.close()
    assert_no_console_errors(page)
