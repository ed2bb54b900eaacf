"""API fuzzing: Schemathesis runs every operation of /api/schema/ as each role, in-process over WSGI.

Per role, the schema is fetched from the application itself with that role's API token; then every
operation gets a bounded, derandomized batch of generated requests, valid and invalid ones, some of
them aimed at the records of a small world (the permission matrix's). Each request runs in a
savepoint that is rolled back, so one request's writes do not change what the next one sees.
Checks: no 5xx, every status code is documented for its operation, every response conforms to its
documented schema and media type. All distinct failures of a role are reported together.

The supplier portal's user too: a vendor's contact signed in through the e-mailed link and one-time
code has every operation of /portal/api/ fuzzed with that session (its cookie, and the CSRF header
on writes), and every operation of /api/v1/ with the same session and nothing else, where no answer
may be a success: for the sponsor's API a portal session is anonymous.

API_FUZZ_DEEP=1 adds Schemathesis' coverage phase (every boundary and missing-field case of every
parameter and body; about 26 minutes for the five roles) and more generated cases: run it after
changing the API.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.test import Client
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.config import HealthCheck
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation import derive_operation_seed, overrides
from schemathesis.generation.hypothesis.builder import HypothesisTestConfig, HypothesisTestMode, create_test
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rfp import bidding
from rfp.models import Invitation
from scoring import services as scoring_services
from tests.portal.conftest import Invited, last_link, sign_in
from tests.test_permission_matrix import world  # noqa: F401  (the fixture: one record of each kind, two teams)
from vendors.models import Vendor

DEEP = os.environ.get("API_FUZZ_DEEP") == "1"
MAX_EXAMPLES = 30 if DEEP else 4  # generated requests per operation and role
MODES = [HypothesisTestMode.EXAMPLES, HypothesisTestMode.FUZZING]
if DEEP:
    MODES.append(HypothesisTestMode.COVERAGE)
SEED = 1729
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]
ROLES = ["procurement", "evaluator", "auditor", "manager", "admin"]

pytestmark = [pytest.mark.django_db, pytest.mark.fuzz, pytest.mark.timeout(3600 if DEEP else 120)]

# Path parameters aimed at the world's records: "/api/v1/<first segment>/..." -> alternatives, each
# parameter -> world key (or, after "=", the value itself).
REAL = {
    "vendors": [{"id": "v1"}],
    "sites": [{"id": "site1"}],
    "inspections": [{"id": "insp1"}],
    "contacts": [{"id": "contact1"}],
    "kinds": [{"code": "=CRO"}],
    "services": [{"code": "=api-manufacturing"}],
    "modalities": [{"code": "=peptide"}],
    "dosage-forms": [{"code": "=oral-solid"}],
    "phases": [{"code": "=phase-2"}],
    "imports": [{"id": "job1"}],
    "evaluations": [
        {"id": "e1", "candidate_id": "cand1", "criterion_id": "crit1"},  # in review
        {"id": "e3", "candidate_id": "cand3", "criterion_id": "crit3"},  # in draft
    ],
    "shortlists": [{"id": "s1"}],
    "audits": [{"id": "a1"}, {"id": "a2"}],
    "capas": [{"id": "capa1"}],
    "notifications": [{"id": "note1"}],
    "rfps": [{"id": "rfp1", "packet_id": "pk1"}],
    "rfp-templates": [{"id": "tpl1"}],
    "awards": [{"id": "aw1", "notice_id": "an1"}],
    "quality-agreements": [{"id": "qa1"}],
    "risk-assessments": [{"id": "risk1"}],
    "risk-matrices": [{"version": "=1"}],
    "performance-records": [{"id": "perf1"}],
    "scorecards": [{"id": "sc1"}],
    "kpi-settings": [{"kpi": "=complaints"}],
    "standing-rules": [{"version": "=1"}],
    # The supplier portal's API ("/portal/api/<first segment>/..."): the signed-in vendor's own packet.
    "packets": [{"packet_id": "pk1", "part": "=pdf"}, {"packet_id": "pk1", "part": "=bundle"}],
}


@pytest.fixture
def fuzz_world(world, users):  # noqa: F811
    """The permission matrix's world plus a draft evaluation of procurement's, with a candidate."""
    draft = scoring_services.evaluation_create(lead=users["procurement"], name="Draft", evaluators=[users["evaluator"]])
    candidate = scoring_services.candidate_add(
        evaluation=draft, user=users["procurement"], vendor=Vendor.objects.get(pk=world["v1"])
    )
    return {**world, "e3": draft.pk, "cand3": candidate.pk, "crit3": draft.criteria.filter(evidence="").first().pk}


@pytest.fixture
def in_process_requests():
    """Requests go straight to Django's WSGI handler, in the test's transaction: keep Django from
    closing the connection at each request's start and end, as its test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def load_schema(records, user):
    from vendorselect.wsgi import application

    auth = {"Authorization": f"Token {Token.objects.create(user=user).key}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application, headers=auth)
    # Health checks time the generation: on a slow CI machine they would fail a good run.
    schema.config.update(headers=auth, suppress_health_check=[HealthCheck.all])
    schema.config.seed = SEED
    schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True, database="none", no_shrink=True)

    @schema.hook
    def before_generate_path_parameters(context, strategy):
        """Some cases address a real record; the others whatever the schema allows."""
        names = {parameter.name for parameter in context.operation.path_parameters}
        segment = context.operation.path.removeprefix("/api/v1/").removeprefix("/portal/api/").split("/")[0]
        real = [
            {
                name: value[1:] if value.startswith("=") else records[value]
                for name, value in known.items()
                if name in names
            }
            for known in REAL.get(segment, [])
            if names <= known.keys()
        ]
        return st.one_of(st.sampled_from(real), strategy) if names and real else strategy

    return schema


def fuzz_operation(schema, operation, test_func) -> None:
    """One operation's Hypothesis test, built as Schemathesis' own runner builds it. (Its pytest
    integration, schemathesis.pytest.from_fixture, does this too, but its subtests need the node
    attribute `_nodeid` that pytest 9.2 no longer has.)"""
    config = schema.config
    create_test(
        operation=operation,
        test_func=test_func,
        config=HypothesisTestConfig(
            project=config,
            modes=MODES,
            settings=config.get_hypothesis_settings(operation=operation, phase="fuzzing"),
            explicit_setting_names=config.explicit_hypothesis_settings(operation=operation, phase="fuzzing"),
            seed=derive_operation_seed(config.seed, operation.label),
            override=overrides.with_config_headers(config, operation=operation),
        ),
    )()


def fuzz_all(schema, operations, label: str, call, *, must_refuse: bool = False) -> None:
    """Fuzz each operation, calling `call(case)` for the response; every distinct failure of the run
    (a check's, or with `must_refuse` any 2xx) is reported together, with a reproduction."""
    found: dict[tuple[str, str, str], str] = {}  # (operation, failure, its first line) -> a reproduction

    def call_and_check(case):
        with transaction.atomic():
            response = call(case)
            transaction.set_rollback(True)
        if must_refuse and 200 <= response.status_code < 300:
            key = (case.operation.label, "Answered a portal session", str(response.status_code))
            found.setdefault(key, f"-> {response.status_code} {response.text[:300]}\n{case.as_curl_command()}")
        try:
            case.validate_response(response, checks=CHECKS)
        except (Failure, FailureGroup) as error:
            for failure in error.exceptions if isinstance(error, FailureGroup) else [error]:
                key = (case.operation.label, failure.title, (failure.message.strip().splitlines() or [""])[0])
                found.setdefault(
                    key, f"{failure.message}\n-> {response.status_code} {response.text[:300]}\n{case.as_curl_command()}"
                )

    for operation in operations:
        try:
            fuzz_operation(schema, operation, call_and_check)
        except Exception as error:  # Hypothesis' own complaints (health checks, unsatisfiable schemas)
            found[(operation.label, type(error).__name__, "")] = str(error)
    if found:
        report = "\n\n".join(f"{op}: {title}\n{detail}" for (op, title, _), detail in sorted(found.items()))
        pytest.fail(f"{label}: {len(found)} distinct failures in {len(operations)} operations\n\n{report}")


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_as_role(fuzz_world, users, role, in_process_requests):
    schema = load_schema(fuzz_world, users[role])
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 100
    fuzz_all(schema, operations, role, lambda case: case.call())


@pytest.fixture
def portal_session(fuzz_world, users) -> dict[str, str]:
    """The world's invited vendor contact, signed in as a person does: a new link by e-mail (the lead
    sends it again), the one-time code by e-mail, the code entered. Returns the session's cookies."""
    invitation = Invitation.objects.get(pk=fuzz_world["inv1"])
    bidding.invitation_resend(invitation=invitation, user=users["procurement"])
    browser = sign_in(Client(), Invited(invitation, last_link()))
    cookies = {name: browser.cookies[name].value for name in (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME)}
    assert browser.get("/portal/api/overview/").status_code == 200
    return cookies


def still_signed_in(cookies: dict[str, str]) -> bool:
    browser = Client()
    for name, value in cookies.items():
        browser.cookies[name] = value
    return browser.get("/portal/api/overview/").status_code == 200


def portal_schema(records, users, cookies: dict[str, str]):
    """The application's schema (fetched with a sponsor's token: it is served to sponsor users only),
    its requests sent with the portal session's cookies and CSRF header, and no other credentials:
    no token, and no generated values for the schema's security schemes either."""
    schema = load_schema(records, users["procurement"])
    schema.config.headers = {"X-CSRFToken": cookies[settings.CSRF_COOKIE_NAME]}
    schema.config.generation.update(with_security_parameters=False)
    return schema


def test_every_portal_operation_as_a_signed_in_vendor(fuzz_world, users, portal_session, in_process_requests):
    schema = portal_schema(fuzz_world, users, portal_session)
    operations = [result.ok() for result in schema.get_all_operations()]
    portal = [operation for operation in operations if operation.path.startswith("/portal/api/")]
    assert len(portal) == 7, [operation.label for operation in portal]
    statuses: dict[str, set[int]] = {}

    def call(case):
        response = case.call(cookies=portal_session)
        statuses.setdefault(case.operation.label, set()).add(response.status_code)
        return response

    fuzz_all(schema, portal, "portal session", call)
    # The session and its CSRF token held: every operation answered the vendor (a 401 or 403 would be
    # a lost session or a CSRF refusal), and each read answered 200 at least once.
    assert all(codes - {401, 403} for codes in statuses.values()), statuses
    assert all(200 in codes for label, codes in statuses.items() if label.startswith("GET")), statuses
    assert still_signed_in(portal_session)


def test_the_sponsor_api_answers_a_portal_session_as_anonymous(fuzz_world, users, portal_session, in_process_requests):
    schema = portal_schema(fuzz_world, users, portal_session)
    operations = [result.ok() for result in schema.get_all_operations()]
    sponsor = [operation for operation in operations if operation.path.startswith("/api/v1/")]
    assert len(sponsor) > 100
    fuzz_all(
        schema, sponsor, "portal session on /api/v1/", lambda case: case.call(cookies=portal_session), must_refuse=True
    )
    assert still_signed_in(portal_session)  # the refusals were to a live portal session, not to a lost one


NUL = "a\x00b"
# Odd inputs that crashed a view (500) or got Django's HTML page: each is now refused like any bad input.
ODD_INPUT = [
    ("procurement", "get", "/api/v1/kinds/a%00b/", None, 404),
    ("procurement", "get", "/api/v1/audits/1.5/", None, 404),
    ("procurement", "post", "/api/v1/vendors/", {"name": "V", "kinds": [NUL], "country": "US"}, 400),
    ("procurement", "post", "/api/v1/evaluations/", {"name": "E", "evaluators": [NUL]}, 400),
    ("procurement", "post", "/api/v1/evaluations/{e3}/candidates/", [[]], 400),
    ("procurement", "post", "/api/v1/evaluations/{e3}/candidates/", {"vendor": "\u00b2"}, 400),
    ("procurement", "post", "/api/v1/evaluations/{e3}/candidates/{cand3}/override/", {"reason": NUL}, 400),
    ("procurement", "post", "/api/v1/evaluations/{e3}/criteria/", {"name": NUL}, 400),
    ("procurement", "post", "/api/v1/evaluations/{e3}/criteria/", {"name": "C", "parent": "\u00b2"}, 400),
    ("procurement", "patch", "/api/v1/evaluations/{e3}/criteria/{crit3}/", {"name": "x" * 121}, 400),
    ("procurement", "get", "/api/v1/evaluations/{e1}/sensitivity/?top=%C2%B2", None, 200),
    ("procurement", "post", "/api/v1/rfp-templates/", {"kind": "CDMO", "sections": [{"title": "T", "body": NUL}]}, 400),
    ("auditor", "post", "/api/v1/audits/{a1}/transition/", [1], 400),
    ("auditor", "post", "/api/v1/audits/{a1}/amendments/", {"reason": NUL, "text": NUL}, 400),
]


@pytest.mark.parametrize(("role", "method", "path", "body", "expected"), ODD_INPUT)
def test_odd_input_is_refused_not_a_server_error(fuzz_world, api_as, role, method, path, body, expected):
    client = api_as(role)
    path = path.format(**fuzz_world)
    response = getattr(client, method)(path, body, format="json") if body is not None else getattr(client, method)(path)
    assert response.status_code == expected, response.content[:300]
    assert response["Content-Type"] == "application/json"
