"""The admin shows regulated records read-only and deletes nothing that signatures or the trail name."""

import pytest

from tests.factories import SiteFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    user = UserFactory(username="root")
    user.is_staff = user.is_superuser = True
    user.save()
    client.force_login(user)
    return client


def test_regulated_records_are_read_only_in_the_admin(superuser_client):
    site = SiteFactory()
    vendor = site.vendor
    assert superuser_client.get("/admin/vendors/vendor/").status_code == 200
    page = superuser_client.get(f"/admin/vendors/vendor/{vendor.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content  # view only
    assert superuser_client.post(f"/admin/vendors/vendor/{vendor.pk}/change/", {"name": "x"}).status_code == 403
    assert superuser_client.post(f"/admin/vendors/vendor/{vendor.pk}/delete/", {"post": "yes"}).status_code == 403
    assert superuser_client.get("/admin/vendors/vendor/add/").status_code == 403
    vendor.refresh_from_db()
    assert vendor.name != "x"


def test_accounts_are_deactivated_not_deleted(superuser_client):
    user = UserFactory(username="leaver")
    assert superuser_client.post(f"/admin/accounts/user/{user.pk}/delete/", {"post": "yes"}).status_code == 403
    assert superuser_client.get(f"/admin/accounts/user/{user.pk}/change/").status_code == 200
