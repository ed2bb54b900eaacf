import io
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts import roles
from accounts.roles import EVALUATOR
from scoring import services
from tests.browsing import CHROMIUM, new_page
from tests.factories import InspectionFactory, SiteFactory, UserFactory, VendorFactory

ROLE_USERS = {
    "procurement": roles.PROCUREMENT_LEAD,
    "evaluator": roles.EVALUATOR,
    "auditor": roles.AUDITOR,
    "manager": roles.MANAGER,
    "admin": roles.ADMIN,
}


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, django_db_blocker):
    """Before the test database is migrated: the application's role exists, so that migrate grants it
    its privileges as in production (vendorselect/records.py)."""
    from django.conf import settings
    from django.db import connection

    role = settings.DATABASE_APP_ROLE
    if connection.vendor != "postgresql" or not role:
        return
    with django_db_blocker.unblock(), connection._nodb_cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            cursor.execute(f"CREATE ROLE {connection.ops.quote_name(role)} NOLOGIN NOSUPERUSER NOINHERIT")


@pytest.fixture
def users(db):
    """One user per role, named after the role."""
    return {name: UserFactory(username=name, roles=[role]) for name, role in ROLE_USERS.items()}


@pytest.fixture
def api_as(users):
    def make(role: str | None) -> APIClient:
        client = APIClient()
        if role:
            client.force_authenticate(users[role])
        return client

    return make


@pytest.fixture
def client_as(users, client):
    def make(role: str):
        client.force_login(users[role])
        return client

    return make


@pytest.fixture
def reviewed(users):
    """An evaluation in review: four candidates scored by two evaluators, ranked 1-4 (Vendor 3 best)."""
    lead, evaluator = users["procurement"], users["evaluator"]
    second = UserFactory(username="evaluator2", roles=[EVALUATOR])
    evaluation = services.evaluation_create(lead=lead, name="Sterile fill", evaluators=[evaluator, second])
    candidates = []
    for i in range(4):
        site = SiteFactory(vendor=VendorFactory(name=f"Vendor {i}"))
        InspectionFactory(site=site, classification="NAI")
        candidates.append(services.candidate_add(evaluation=evaluation, user=lead, vendor=site.vendor))
    evaluation = services.evaluation_transition(evaluation=evaluation, user=lead, action="start_scoring")
    for user in (evaluator, second):
        for i, candidate in enumerate(candidates):
            for criterion in evaluation.scored_criteria():
                services.score_save(
                    evaluation=evaluation, user=user, candidate_id=candidate.pk, criterion_id=criterion.pk, value=i + 1
                )
        services.evaluator_submit(evaluation=evaluation, user=user)
    evaluation = services.evaluation_transition(evaluation=evaluation, user=lead, action="start_review")
    return evaluation, candidates


# The browser journeys (tests marked `browser`); their helpers are in tests/browsing.py.


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's chromium for the browser journeys")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls of the tests are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(browser, live_server):
    """A 1440×900 page; console errors collect in `page.console_errors`."""
    page = new_page(browser, live_server.url)
    yield page
    page.context.close()


@pytest.fixture
def demo(transactional_db):
    """The demo data of `seed_demo` (users, register, audits, evaluations, a pending shortlist)."""
    call_command("seed_demo", stdout=io.StringIO())
