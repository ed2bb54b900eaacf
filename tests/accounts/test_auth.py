import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db.models import F

from accounts.roles import ALL_ROLES
from tests.factories import UserFactory
from vendorselect.management.commands.seed_demo import DEMO_USERS, demo_password

pytestmark = pytest.mark.django_db


def test_roles_exist_with_permissions():
    from django.contrib.auth.models import Group

    groups = {g.name: set(g.permissions.values_list("codename", flat=True)) for g in Group.objects.all()}
    assert set(ALL_ROLES) <= set(groups)
    assert "add_vendor" in groups["Procurement lead"]
    assert "add_regulatoryinspection" in groups["Auditor"]
    assert "add_vendor" not in groups["Manager"] and "add_vendor" not in groups["Admin"]
    assert "change_service" in groups["Admin"]


def test_seed_demo_is_idempotent_and_every_demo_user_lands_on_their_home(client):
    call_command("seed_demo")
    from vendors.models import RegulatoryInspection, Site, Vendor

    counts = (Vendor.objects.count(), Site.objects.count(), RegulatoryInspection.objects.count())
    call_command("seed_demo")
    assert counts == (Vendor.objects.count(), Site.objects.count(), RegulatoryInspection.objects.count())
    assert counts[0] >= 40
    assert Site.objects.values("country").distinct().count() >= 8
    assert RegulatoryInspection.objects.filter(classification="OAI").exists()
    assert RegulatoryInspection.objects.filter(warning_letter=True).exists()
    kinds = {tuple(sorted(v.kinds.values_list("code", flat=True))) for v in Vendor.objects.all()}
    assert {("CRO",), ("CMO",), ("CDMO",), ("CDMO", "CRO")} <= kinds
    headings = {
        "lead": "Procurement lead home",
        "evaluator": "Evaluator home",
        "auditor": "Auditor home",
        "manager": "Manager home",
        "admin": "Admin home",
    }
    for username, heading in headings.items():
        response = client.post("/login/", {"username": username, "password": demo_password(username)}, follow=True)
        assert response.redirect_chain[-1][0] == "/"
        assert heading in response.content.decode()
        client.post("/logout/")
    assert len(DEMO_USERS) >= 5


def test_login_failure_message_and_lockout(client):
    UserFactory(username="victim")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post("/login/", {"username": "victim", "password": "wrong-password-123"})
        assert response.status_code == 200
        assert "Please enter a correct" in response.content.decode()
    response = client.post("/login/", {"username": "victim", "password": "wrong-password-123"})
    assert response.status_code == 429
    # Even the right password is refused during the cool-off.
    response = client.post("/login/", {"username": "victim", "password": "Correct-Horse-Battery-9"})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_username_and_ip(client):
    UserFactory(username="victim")
    UserFactory(username="bystander")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": "victim", "password": "nope-nope-nope"})
    response = client.post("/login/", {"username": "bystander", "password": "Correct-Horse-Battery-9"})
    assert response.status_code == 302


@pytest.mark.parametrize("password", ["short-1A", "password1234", "123456789012345"])
def test_password_policy(password):
    with pytest.raises(ValidationError):
        validate_password(password)


def test_session_lasts_at_most_eight_hours():
    assert settings.SESSION_COOKIE_AGE <= 8 * 3600


def test_logout_requires_post(client, users):
    client.force_login(users["manager"])
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302


def test_api_token_page_issues_token(client_as):
    client = client_as("evaluator")
    response = client.post("/account/api-token/", follow=True)
    from rest_framework.authtoken.models import Token

    token = Token.objects.get(user__username="evaluator")
    assert token.key in response.content.decode()


def test_home_without_role(client):
    user = UserFactory(username="nobody")
    client.force_login(user)
    assert "You have no role yet" in client.get("/").content.decode()


def test_security_headers(client_as):
    response = client_as("manager").get("/vendors/")
    assert response["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


def _token(client, username, password):
    return client.post("/api/v1/auth/token/", {"username": username, "password": password})


def test_api_token_obtain_locked_out_answers_429_with_retry_after(client):
    """The token endpoint authenticates through axes too: wrong passwords there count toward the
    lockout, and a locked-out user gets 429, Retry-After (seconds left of the cool-off) and a message
    saying so, not the 400 "Unable to log in" that reads like a wrong password."""
    UserFactory(username="victim")
    assert client.post("/api/v1/auth/token/", {}).status_code == 400  # nothing to check: still 400
    response = _token(client, "victim", "Correct-Horse-Battery-9")
    assert response.status_code == 200 and response.json()["token"]
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = _token(client, "victim", "wrong-password-123")
        assert response.status_code == 400
        assert "Unable to log in" in str(response.json())
    # The limit-th failure locks, as on the login page.
    response = _token(client, "victim", "wrong-password-123")
    assert response.status_code == 429
    cool_off = int(settings.AXES_COOLOFF_TIME.total_seconds())
    assert cool_off - 5 <= int(response["Retry-After"]) <= cool_off
    assert "Too many failed sign-in attempts" in response.json()["detail"]
    # Even the right password is refused during the cool-off.
    response = _token(client, "victim", "Correct-Horse-Battery-9")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= cool_off
    assert "token" not in response.json()
    # The login page shares the lockout (same user name and address).
    assert client.post("/login/", {"username": "victim", "password": "Correct-Horse-Battery-9"}).status_code == 429


def test_api_token_wrong_passwords_count_toward_the_login_page_lockout(client):
    UserFactory(username="victim")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _token(client, "victim", "wrong-password-123")
    assert client.post("/login/", {"username": "victim", "password": "Correct-Horse-Battery-9"}).status_code == 429


@pytest.mark.parametrize("reset_during_lockout", [True, False])
def test_api_token_retry_after_is_what_is_left_of_the_cool_off(client, settings, reset_during_lockout):
    """Retry-After runs from the latest counted failure. By default (axes'
    AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT) a try during the lockout counts and restarts the
    cool-off, as on the login page; without it, the cool-off counts down."""
    from datetime import timedelta

    from axes.models import AccessAttempt

    settings.AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = reset_during_lockout
    UserFactory(username="victim")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _token(client, "victim", "wrong-password-123")
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(seconds=300))
    cool_off = int(settings.AXES_COOLOFF_TIME.total_seconds())
    response = _token(client, "victim", "Correct-Horse-Battery-9")
    assert response.status_code == 429
    retry_after = int(response["Retry-After"])
    if reset_during_lockout:
        assert cool_off - 5 <= retry_after <= cool_off
    else:
        assert cool_off - 310 <= retry_after <= cool_off - 299
        assert "more minutes" in response.json()["detail"]


# --- Password hashing (issue 15: Argon2id; the suite itself hashes with MD5 for speed) ----------


@pytest.fixture
def production_hashers(settings):
    """The production settings' hashers (vendorselect.test_settings replaces them with a fast one)."""
    from vendorselect import settings as production

    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    return production.PASSWORD_HASHERS


def test_argon2id_parameters_meet_owasp_minimum(production_hashers):
    from django.contrib.auth.hashers import get_hasher

    from accounts.hashers import Argon2idPasswordHasher

    assert production_hashers[0] == "accounts.hashers.Argon2idPasswordHasher"
    assert "django.contrib.auth.hashers.PBKDF2PasswordHasher" in production_hashers[1:]
    hasher = get_hasher("default")
    assert isinstance(hasher, Argon2idPasswordHasher)
    # OWASP Password Storage Cheat Sheet: Argon2id, at least 19 MiB, 2 iterations, 1 degree of parallelism.
    params = hasher.params()
    assert params.type.name == "ID"
    assert params.memory_cost >= 19 * 1024 and params.time_cost >= 2 and params.parallelism >= 1
    # ... the same parameters in the stored hash (PHC string) a new password gets.
    encoded = hasher.encode("Correct-Horse-Battery-9", hasher.salt())
    assert encoded.startswith(f"argon2$argon2id$v=19$m={params.memory_cost},t={params.time_cost},p=1$")


def test_new_users_get_argon2id_hashes(production_hashers, client):
    user = UserFactory(username="newcomer")
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    response = client.post("/login/", {"username": "newcomer", "password": "Correct-Horse-Battery-9"})
    assert response.status_code == 302 and "_auth_user_id" in client.session


def test_a_pbkdf2_hash_is_upgraded_at_the_next_sign_in(production_hashers, client):
    from django.contrib.auth.hashers import PBKDF2PasswordHasher, identify_hasher

    user = UserFactory(username="veteran")
    # As stored before Argon2id (few iterations, to keep the test fast: any PBKDF2 hash verifies).
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode("Correct-Horse-Battery-9", hasher.salt(), iterations=1000)
    user.save(update_fields=["password"])
    # A wrong password changes nothing.
    assert client.post("/login/", {"username": "veteran", "password": "wrong-password-123"}).status_code == 200
    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_sha256$1000$")
    # The right one signs in and re-hashes it with Argon2id, which verifies the next time.
    assert client.post("/login/", {"username": "veteran", "password": "Correct-Horse-Battery-9"}).status_code == 302
    user.refresh_from_db()
    assert identify_hasher(user.password).algorithm == "argon2"
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password("Correct-Horse-Battery-9")
