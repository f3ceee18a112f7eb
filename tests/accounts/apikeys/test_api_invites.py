"""POST /api/users/invite and POST /api/users/invite/revoke."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.invites.models import Invite, hash_token
from accounts.invites.service import create_invite, find_invite

pytestmark = pytest.mark.django_db

INVITE_URL = re.compile(r"^http://testserver/invite/([A-Za-z0-9_-]{43})/$")


@pytest.fixture
def admin_key(admin_user, make_key):
    return make_key(admin_user, name="onboarding", scopes=["users.manage"])


def post(client, path, body, raw=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"} if raw else {}
    return client.post(path, body, content_type="application/json", **headers)


def test_invite_creates_link(key_client, admin_user, admin_key, audit_log):
    """An invitation is created; its link appears once in the response and only its hash is stored."""
    response = post(key_client, "/api/users/invite", {"email": " Nina@Example.com ", "role": "editor"}, admin_key.raw)

    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    invite = Invite.objects.get(pk=body["id"])
    token = INVITE_URL.match(body["url"]).group(1)
    assert invite.token_hash == hash_token(token)
    assert body["email"] == "nina@example.com"
    assert body["role"] == "editor"
    assert body["status"] == "pending"
    assert body["invited_by"] == {"id": admin_user.pk, "email": admin_user.email}
    assert body["expires_at"].endswith("Z")
    assert body["closed_at"] is None
    record = audit_log.records("user_invited")[0]
    assert record["actor"] == {"id": admin_user.pk, "email": admin_user.email}
    assert record["target"] == {"type": "invite", "id": invite.pk, "email": "nina@example.com"}
    assert token not in audit_log.path.read_text()


def test_invite_link_opens(key_client, admin_key):
    """The link from the response opens the invitation page."""
    body = post(key_client, "/api/users/invite", {"email": "omar@example.com", "role": "viewer"}, admin_key.raw).json()

    page = Client().get(body["url"].removeprefix("http://testserver"), follow=True)

    assert page.status_code == 200
    assert "omar@example.com" in page.content.decode()


@pytest.mark.parametrize("body,status,code", [
    ({"email": "not-an-email", "role": "viewer"}, 400, "invalid_email"),
    ({"email": 5, "role": "viewer"}, 400, "invalid_email"),
    ({"email": "pia@example.com", "role": "owner"}, 400, "invalid_role"),
    ({"email": "pia@example.com", "role": ["viewer"]}, 400, "invalid_role"),
    ({"email": "pia@example.com"}, 400, "missing_field"),
    ({"email": "pia@example.com", "role": "viewer", "expires_in_hours": 1}, 400, "unknown_field"),
    ({"email": "viewer@example.com", "role": "viewer"}, 409, "user_exists"),
])
def test_invite_rejects_bad_input(key_client, admin_key, viewer, body, status, code):
    """Bad input gets a clear error and creates nothing."""
    response = post(key_client, "/api/users/invite", body, admin_key.raw)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert not Invite.objects.exists()


def test_second_invite_conflicts(key_client, admin_key):
    """A second invitation for a pending address gets 409 invite_pending."""
    post(key_client, "/api/users/invite", {"email": "quinn@example.com", "role": "viewer"}, admin_key.raw)
    response = post(key_client, "/api/users/invite", {"email": "QUINN@example.com", "role": "editor"}, admin_key.raw)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invite_pending"
    assert Invite.objects.count() == 1


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_invite_needs_users_manage(key_client, make_user, make_key, audit_log, role):
    """Editors and Viewers get 403 and invite nobody."""
    user = make_user(f"{role}-invites@example.com", role=role)
    caller = make_key(user)
    response = post(key_client, "/api/users/invite", {"email": "rita@example.com", "role": "viewer"}, caller.raw)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not Invite.objects.exists()
    assert audit_log.records("user_invited") == []


def test_key_without_scope_cannot_invite(key_client, admin_user, make_key):
    """An Admin's key scoped to users.view only gets 403 naming the missing scope."""
    caller = make_key(admin_user, scopes=["users.view"])
    response = post(key_client, "/api/users/invite", {"email": "sam@example.com", "role": "viewer"}, caller.raw)

    assert response.status_code == 403
    assert "users.manage" in response.json()["error"]["message"]


def test_revoke_pending_invite(key_client, admin_user, admin_key, audit_log):
    """Revoking closes the invitation, its link stops working and invite_revoked is recorded."""
    created = post(key_client, "/api/users/invite", {"email": "tom@example.com", "role": "viewer"}, admin_key.raw)
    token = INVITE_URL.match(created.json()["url"]).group(1)

    response = post(key_client, "/api/users/invite/revoke", {"email": "Tom@example.com"}, admin_key.raw)

    assert response.status_code == 200
    assert response.json()["status"] == "revoked"
    assert response.json()["closed_at"].endswith("Z")
    assert find_invite(token).current_status == Invite.Status.REVOKED
    record = audit_log.records("invite_revoked")[0]
    assert record["actor"] == {"id": admin_user.pk, "email": admin_user.email}
    assert record["target"]["email"] == "tom@example.com"
    again = post(key_client, "/api/users/invite/revoke", {"email": "tom@example.com"}, admin_key.raw)
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "not_found"


def test_revoke_expired_invite(key_client, admin_key, settings):
    """A pending invitation past its expiry can still be revoked, so its address is free again."""
    issued = create_invite("uma@example.com", "viewer")
    with time_machine.travel(timezone.now() + timedelta(hours=settings.DANGO_INVITE_EXPIRY_HOURS + 1), tick=False):
        response = post(key_client, "/api/users/invite/revoke", {"email": "uma@example.com"}, admin_key.raw)

    assert response.status_code == 200
    assert Invite.objects.get(pk=issued.invite.pk).status == Invite.Status.REVOKED


@pytest.mark.parametrize("body,status,code", [
    ({}, 400, "missing_field"),
    ({"email": ""}, 400, "invalid_email"),
    ({"email": None}, 400, "invalid_email"),
    ({"email": "nobody@example.com"}, 404, "not_found"),
    ({"email": "x@example.com", "id": 1}, 400, "unknown_field"),
])
def test_revoke_rejects_bad_input(key_client, admin_key, body, status, code):
    """Revoking without a pending invitation for the address changes nothing."""
    create_invite("vera@example.com", "viewer")
    response = post(key_client, "/api/users/invite/revoke", body, admin_key.raw)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert Invite.objects.get(email="vera@example.com").status == Invite.Status.PENDING


def test_revoke_needs_users_manage(key_client, viewer, make_key):
    """A Viewer cannot revoke an invitation."""
    create_invite("wendy@example.com", "viewer")
    caller = make_key(viewer)
    response = post(key_client, "/api/users/invite/revoke", {"email": "wendy@example.com"}, caller.raw)

    assert response.status_code == 403
    assert Invite.objects.get(email="wendy@example.com").status == Invite.Status.PENDING


def test_admin_session_invites(client, admin_user, verified_login):
    """A signed-in Admin past the second factor invites with the session cookie."""
    verified_login(client, admin_user)
    response = post(client, "/api/users/invite", {"email": "xena@example.com", "role": "admin"})

    assert response.status_code == 201
    assert response.json()["role"] == "admin"
