"""The JSON API treats a session that has not passed the second factor as anonymous."""

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.apikeys.models import ApiKey
from accounts.models import User
from accounts.twofactor import devices
from rbac.assignment import get_role
from rbac.roles import Role
from tests.accounts.apikeys.conftest import PASSWORD
from tests.accounts.two_factor.conftest import EPOCH, KEY_HEX, totp_code

pytestmark = pytest.mark.django_db

VERIFICATION_MIDDLEWARE = "accounts.twofactor.middleware.TwoFactorVerificationMiddleware"


@pytest.fixture
def clock():
    with time_machine.travel(EPOCH, tick=False) as traveller:
        yield traveller


@pytest.fixture
def enrolled_admin(admin_user):
    devices.enable(admin_user, KEY_HEX, confirmed_step=-1)
    return admin_user


def pass_password_step(client, user):
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response["Location"] == reverse("two_factor_challenge")
    assert "_auth_user_id" not in client.session


def assert_not_authenticated(response):
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"


def test_pending_sign_in_reads_nothing(clock, client, enrolled_admin, viewer):
    """After the password alone, every API endpoint returns 401 as for an anonymous request."""
    pass_password_step(client, enrolled_admin)

    for path in ("/api/me", "/api/keys", "/api/users", f"/api/users/{viewer.pk}"):
        assert_not_authenticated(client.get(path))


def test_pending_sign_in_changes_nothing(clock, client, enrolled_admin, viewer, audit_log):
    """After the password alone, API writes return 401 and change no key, role or user."""
    pass_password_step(client, enrolled_admin)

    create = client.post("/api/keys", {"name": "script", "password": PASSWORD}, content_type="application/json")
    role = client.put(f"/api/users/{viewer.pk}/role", {"role": "editor"}, content_type="application/json")
    deactivate = client.post(f"/api/users/{viewer.pk}/deactivate", {}, content_type="application/json")

    for response in (create, role, deactivate):
        assert_not_authenticated(response)
    assert not ApiKey.objects.exists()
    viewer = User.objects.get(pk=viewer.pk)
    assert get_role(viewer) is Role.VIEWER
    assert viewer.is_active
    assert audit_log.records("api_key_created") == []
    assert audit_log.records("role_changed") == []
    assert audit_log.records("user_deactivated") == []


def test_second_factor_opens_api(clock, client, enrolled_admin):
    """The same session reaches the API once the code step is passed."""
    pass_password_step(client, enrolled_admin)
    clock.shift(30)
    client.post(reverse("two_factor_challenge"), {"code": totp_code(EPOCH + 30)})

    response = client.get("/api/me")

    assert response.status_code == 200
    assert response.json()["user"]["email"] == enrolled_admin.email
    assert response.json()["authentication"]["method"] == "session"


def test_unverified_session_ended_for_api(clock, client, enrolled_admin, audit_log):
    """A signed-in session of an enrolled user that skipped the second factor gets 401 and is ended."""
    client.force_login(enrolled_admin)

    response = client.get("/api/me")

    assert_not_authenticated(response)
    assert "_auth_user_id" not in client.session
    assert client.get("/api/me").status_code == 401
    [revoked] = audit_log.records("session_revoked")
    assert revoked["target"]["id"] == enrolled_admin.pk
    assert revoked["details"]["reason"] == "two_factor_required"


def test_api_checks_second_factor_itself(clock, settings, enrolled_admin):
    """Without the verification middleware, the API still rejects a session that skipped the second factor."""
    settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if name != VERIFICATION_MIDDLEWARE]
    client = Client()
    client.force_login(enrolled_admin)

    for path in ("/api/me", "/api/users"):
        assert_not_authenticated(client.get(path))
    assert client.session["_auth_user_id"] == str(enrolled_admin.pk)
