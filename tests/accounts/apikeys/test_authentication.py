from datetime import timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import RequestFactory
from django.utils import timezone

from accounts.apikeys.authentication import authenticate_bearer
from accounts.apikeys.keys import generate_key
from accounts.apikeys.models import ApiKey
from accounts.apikeys.operations import revoke_api_key

pytestmark = pytest.mark.django_db


def assert_one_rejection(audit_log, reason, key=None):
    records = audit_log.records("api_key_rejected")
    assert len(records) == 1
    record = records[0]
    assert record["details"] == {"reason": reason}
    assert record["actor"] is None
    assert record["ip"] == "127.0.0.1"
    if key is None:
        assert record["target"] is None
    else:
        assert record["target"] == {"type": "api_key", "id": key.pk, "key_prefix": key.prefix, "owner_id": key.user_id}


@pytest.mark.parametrize("header", [
    "",
    "Bearer",
    "Bearer    ",
    "Basic dXNlcjpwYXNzd29yZA==",
    "Bearer dango_ak_tooShort",
    "Bearer not_a_dango_key_at_all_but_long_enough_to_look_like_one",
    "Token dango_ak_" + "a" * 43,
    "Bearer dango_ak_" + "a" * 43 + " trailing",
])
def test_malformed_header_rejected(key_client, audit_log, make_user, header):
    response = key_client.get("/api/me", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert_one_rejection(audit_log, "malformed")


def test_unknown_key_rejected(key_client, audit_log, bearer, db):
    raw = generate_key().raw
    response = key_client.get("/api/me", **bearer(raw))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert_one_rejection(audit_log, "unknown")
    assert raw not in audit_log.path.read_text()


def test_revoked_key_rejected(key_client, audit_log, bearer, admin_user, make_key):
    created = make_key(admin_user)
    revoke_api_key(created.key, by=admin_user)
    response = key_client.get("/api/me", **bearer(created.raw))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_revoked"
    assert_one_rejection(audit_log, "revoked", created.key)
    assert created.raw not in audit_log.path.read_text()


def test_expired_key_rejected(key_client, audit_log, bearer, admin_user, make_key):
    created = make_key(admin_user, expires_in_days=1)
    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1), tick=False):
        response = key_client.get("/api/me", **bearer(created.raw))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_expired"
    assert_one_rejection(audit_log, "expired", created.key)


def test_key_valid_until_expiry(key_client, audit_log, bearer, admin_user, make_key):
    created = make_key(admin_user, expires_in_days=1)
    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=-5), tick=False):
        response = key_client.get("/api/me", **bearer(created.raw))
    assert response.status_code == 200
    assert audit_log.records("api_key_rejected") == []


def test_inactive_owner_rejected(key_client, audit_log, bearer, viewer, make_key):
    created = make_key(viewer)
    viewer.is_active = False
    viewer.save(update_fields=["is_active"])
    response = key_client.get("/api/me", **bearer(created.raw))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "account_inactive"
    assert_one_rejection(audit_log, "inactive_user", created.key)


def test_valid_key_authenticates(key_client, audit_log, bearer, viewer, make_key):
    created = make_key(viewer)
    response = key_client.get("/api/me", **bearer(created.raw))
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["email"] == viewer.email
    assert body["authentication"]["method"] == "api_key"
    assert body["authentication"]["api_key"]["id"] == created.key.pk
    assert "key" not in body["authentication"]["api_key"]
    assert audit_log.records("api_key_rejected") == []


def test_scheme_is_case_insensitive(key_client, bearer, viewer, make_key):
    created = make_key(viewer)
    response = key_client.get("/api/me", HTTP_AUTHORIZATION=f"bEaReR {created.raw}")
    assert response.status_code == 200


def test_no_credentials_is_401_without_event(key_client, audit_log, db):
    response = key_client.get("/api/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"
    assert audit_log.records() == []


def test_key_and_session_cookie_together_rejected(client, audit_log, bearer, viewer, make_key):
    """A request with both credentials is refused before either is used."""
    created = make_key(viewer)
    client.force_login(viewer)
    response = client.get("/api/me", **bearer(created.raw))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ambiguous_credentials"
    assert ApiKey.objects.get(pk=created.key.pk).last_used_at is None
    assert audit_log.records("api_key_rejected") == []


def test_bearer_request_creates_no_session(key_client, bearer, viewer, make_key):
    created = make_key(viewer)
    sessions_before = Session.objects.count()
    response = key_client.post(
        "/api/keys", {"name": "second", "password": "Correct-Horse-42"}, content_type="application/json",
        **bearer(created.raw),
    )
    assert response.status_code == 201
    assert Session.objects.count() == sessions_before
    assert "sessionid" not in response.cookies
    assert not any(cookie.value for cookie in response.cookies.values())


def test_bearer_user_counts_as_verified(viewer, make_key):
    """django-otp's is_verified() is true for a key-authenticated user, who has no session."""
    created = make_key(viewer)
    request = RequestFactory().get("/api/me")
    authenticate_bearer(request, f"Bearer {created.raw}")
    assert request.user.is_verified() is True
    assert request.user.otp_device is None
    assert request.user.pk == viewer.pk
    assert not hasattr(request, "session")


def test_last_use_written_at_most_once_a_minute(key_client, bearer, viewer, make_key):
    created = make_key(viewer)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        key_client.get("/api/me", **bearer(created.raw))
    first = ApiKey.objects.get(pk=created.key.pk)
    assert first.last_used_at == start
    assert first.last_used_ip == "127.0.0.1"

    with time_machine.travel(start + timedelta(seconds=59), tick=False):
        key_client.get("/api/me", REMOTE_ADDR="192.0.2.7", **bearer(created.raw))
    assert ApiKey.objects.get(pk=created.key.pk).last_used_at == start

    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        key_client.get("/api/me", REMOTE_ADDR="192.0.2.7", **bearer(created.raw))
    later = ApiKey.objects.get(pk=created.key.pk)
    assert later.last_used_at == start + timedelta(seconds=61)
    assert later.last_used_ip == "192.0.2.7"
