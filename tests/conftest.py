import pytest
from rest_framework.test import APIClient

from accounts import roles
from tests.factories import UserFactory

ROLE_USERS = {
    "procurement": roles.PROCUREMENT_LEAD,
    "evaluator": roles.EVALUATOR,
    "auditor": roles.AUDITOR,
    "manager": roles.MANAGER,
    "admin": roles.ADMIN,
}


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
