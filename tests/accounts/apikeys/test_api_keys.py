from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.apikeys.keys import hash_key
from accounts.apikeys.models import ApiKey
from accounts.reauth import REAUTHENTICATED_AT_KEY

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-Horse-42"
# Five seconds into a 30-second TOTP step, so codes computed here stay valid within the test.
EPOCH = 1_900_000_005


def post_key(client, body, raw=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"} if raw else {}
    return client.post("/api/keys", body, content_type="application/json", **headers)


def test_list_own_keys_only(key_client, viewer, editor, make_key):
    mine = make_key(viewer, name="mine")
    make_key(editor, name="theirs")
    response = key_client.get("/api/keys", HTTP_AUTHORIZATION=f"Bearer {mine.raw}")
    assert response.status_code == 200
    keys = response.json()["api_keys"]
    assert [key["name"] for key in keys] == ["mine"]
    assert keys[0]["prefix"] == mine.key.prefix
    assert "key" not in keys[0]
    assert mine.raw not in response.content.decode()


def test_create_with_key_and_password(key_client, viewer, make_key, audit_log):
    caller = make_key(viewer)
    response = post_key(key_client, {"name": "export", "password": PASSWORD, "expires_in_days": 30}, caller.raw)
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "export"
    assert body["key"].startswith(body["prefix"])
    stored = ApiKey.objects.get(pk=body["id"])
    assert stored.key_hash == hash_key(body["key"])
    assert stored.expires_at - stored.created_at == timedelta(days=30)
    records = audit_log.records("api_key_created")
    assert [record["target"]["id"] for record in records] == [caller.key.pk, stored.pk]
    assert records[1]["actor"]["id"] == viewer.pk
    assert records[1]["details"] == {"key_name": "export", "scopes": []}
    assert body["key"] not in audit_log.path.read_text()
    assert PASSWORD not in audit_log.path.read_text()
    assert key_client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {body['key']}").status_code == 200


def test_create_needs_password(key_client, viewer, make_key):
    caller = make_key(viewer)
    response = post_key(key_client, {"name": "export"}, caller.raw)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "password_required"
    assert viewer.api_keys.count() == 1


def test_create_with_wrong_password(key_client, viewer, make_key):
    caller = make_key(viewer)
    response = post_key(key_client, {"name": "export", "password": "wrong"}, caller.raw)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "password_incorrect"
    assert viewer.api_keys.count() == 1


def test_password_attempts_rate_limited(key_client, viewer, make_key, audit_log, settings):
    # A lockout limit above the rate limit, so that the rate limit is what stops the attempts.
    settings.AXES_FAILURE_LIMIT = 20
    caller = make_key(viewer)
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=5)
    with time_machine.travel(start, tick=False):
        statuses = [post_key(key_client, {"name": "x", "password": "wrong"}, caller.raw).status_code
                    for _ in range(10)]
        refused = post_key(key_client, {"name": "x", "password": PASSWORD}, caller.raw)
    assert statuses == [403] * 10
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert audit_log.records("rate_limit_hit")[0]["details"]["limit"] == "reauthenticate"
    assert viewer.api_keys.count() == 1


def test_wrong_passwords_lock_out(key_client, viewer, make_key, audit_log):
    caller = make_key(viewer)
    statuses = [post_key(key_client, {"name": "x", "password": "wrong"}, caller.raw).status_code for _ in range(5)]
    refused = post_key(key_client, {"name": "x", "password": PASSWORD}, caller.raw)
    assert statuses == [403] * 4 + [429]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "locked_out"
    assert len(audit_log.records("login_failure")) >= 5
    assert audit_log.records("account_locked")
    assert viewer.api_keys.count() == 1


def test_session_with_recent_confirmation_needs_no_password(client, viewer):
    client.force_login(viewer)
    session = client.session
    session[REAUTHENTICATED_AT_KEY] = int(timezone.now().timestamp())
    session.save()
    response = post_key(client, {"name": "from browser"})
    assert response.status_code == 201


def test_session_with_old_confirmation_needs_reauthentication(client, viewer):
    client.force_login(viewer)
    session = client.session
    session[REAUTHENTICATED_AT_KEY] = int(timezone.now().timestamp()) - 601
    session.save()
    response = post_key(client, {"name": "from browser"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "reauthentication_required"
    assert response.json()["error"]["reauthenticate_url"].startswith("/account/reauthenticate/")
    assert not viewer.api_keys.exists()


def test_session_password_in_body_starts_window(client, viewer):
    client.force_login(viewer)
    response = post_key(client, {"name": "from browser", "password": PASSWORD})
    assert response.status_code == 201
    assert REAUTHENTICATED_AT_KEY in client.session
    assert post_key(client, {"name": "second"}).status_code == 201


def test_two_factor_key_owner_sends_code(key_client, make_user, make_key, audit_log):
    owner = make_user("two-factor@example.com", password=PASSWORD, role="viewer")
    device = TOTPDevice.objects.create(user=owner, name="phone", confirmed=True)
    with time_machine.travel(EPOCH, tick=False):
        caller = make_key(owner)
        missing = post_key(key_client, {"name": "x", "password": PASSWORD}, caller.raw)
        malformed = post_key(key_client, {"name": "x", "password": PASSWORD, "code": "12"}, caller.raw)
        code = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
        wrong_code = f"{(int(code) + 1) % 10**6:06d}"
        wrong = post_key(key_client, {"name": "x", "password": PASSWORD, "code": wrong_code}, caller.raw)
    with time_machine.travel(EPOCH + 60, tick=False):
        code = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
        created = post_key(key_client, {"name": "x", "password": PASSWORD, "code": code}, caller.raw)
        replayed = post_key(key_client, {"name": "y", "password": PASSWORD, "code": code}, caller.raw)
    assert missing.status_code == 403
    assert missing.json()["error"]["code"] == "code_required"
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "invalid_code"
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "code_incorrect"
    assert audit_log.records("two_fa_failure")[0]["details"] == {"reason": "wrong_code"}
    assert created.status_code == 201
    assert replayed.status_code == 403
    assert replayed.json()["error"]["code"] == "code_incorrect"
    assert owner.api_keys.count() == 2


@pytest.mark.parametrize("body,code", [
    ({"password": 5}, "invalid_password"),
    ({"password": ["x"]}, "invalid_password"),
    ({"password": PASSWORD, "code": 123456}, "invalid_code"),
])
def test_credentials_must_be_strings(key_client, viewer, make_key, body, code):
    caller = make_key(viewer)
    response = post_key(key_client, {"name": "x", **body}, caller.raw)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert viewer.api_keys.count() == 1


def test_scoped_key_cannot_create_wider_key(key_client, admin_user, make_key):
    caller = make_key(admin_user, scopes=["health.view"])
    response = post_key(key_client, {"name": "wider", "password": PASSWORD, "scopes": ["users.manage"]}, caller.raw)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_scopes"
    assert response.json()["error"]["message"].startswith("The API key making this request does not grant")


def test_key_created_by_scoped_key_inherits_scopes(key_client, admin_user, make_key):
    caller = make_key(admin_user, scopes=["health.view", "users.view"])
    response = post_key(key_client, {"name": "child", "password": PASSWORD}, caller.raw)
    assert response.status_code == 201
    assert response.json()["scopes"] == ["health.view", "users.view"]


@pytest.mark.parametrize("body,code", [
    ({"name": ""}, "invalid_name"),
    ({"name": "   "}, "invalid_name"),
    ({"name": "x" * 101}, "invalid_name"),
    ({"name": 5}, "invalid_name"),
    ({"name": "a\u0000b"}, "invalid_name"),
    ({"name": "x", "scopes": "health.view"}, "invalid_scopes"),
    ({"name": "x", "scopes": [1]}, "invalid_scopes"),
    ({"name": "x", "scopes": []}, "invalid_scopes"),
    ({"name": "x", "scopes": ["users.manage"]}, "invalid_scopes"),
    ({"name": "x", "expires_in_days": 366}, "invalid_expiry"),
    ({"name": "x", "expires_in_days": 0}, "invalid_expiry"),
    ({"name": "x", "expires_in_days": -1}, "invalid_expiry"),
    ({"name": "x", "expires_in_days": "30"}, "invalid_expiry"),
    ({"name": "x", "expires_in_days": 1.5}, "invalid_expiry"),
    ({"name": "x", "expires_in_days": True}, "invalid_expiry"),
    ({"name": "x", "colour": "red"}, "unknown_field"),
    ({}, "missing_field"),
])
def test_create_invalid_input(key_client, viewer, make_key, body, code):
    caller = make_key(viewer)
    response = post_key(key_client, {**body, "password": PASSWORD}, caller.raw)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert viewer.api_keys.count() == 1


def test_default_expiry_applies(key_client, viewer, make_key, settings):
    settings.DANGO_API_KEY_DEFAULT_EXPIRY_DAYS = 7
    caller = make_key(viewer)
    body = post_key(key_client, {"name": "default", "password": PASSWORD}, caller.raw).json()
    stored = ApiKey.objects.get(pk=body["id"])
    assert stored.expires_at - stored.created_at == timedelta(days=7)


def test_no_expiry_when_no_maximum(key_client, viewer, make_key, settings):
    settings.DANGO_API_KEY_MAX_EXPIRY_DAYS = 0
    caller = make_key(viewer)
    body = post_key(key_client, {"name": "forever", "password": PASSWORD, "expires_in_days": 0}, caller.raw).json()
    assert body["expires_at"] is None


def test_duplicate_name_conflicts(key_client, viewer, make_key):
    caller = make_key(viewer, name="taken")
    response = post_key(key_client, {"name": " taken ", "password": PASSWORD}, caller.raw)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "name_taken"


def test_revoked_key_frees_its_name(key_client, viewer, make_key):
    old = make_key(viewer, name="nightly")
    caller = make_key(viewer, name="caller")
    key_client.delete(f"/api/keys/{old.key.pk}", HTTP_AUTHORIZATION=f"Bearer {caller.raw}")
    response = post_key(key_client, {"name": "nightly", "password": PASSWORD}, caller.raw)
    assert response.status_code == 201


def test_too_many_keys_conflicts(key_client, viewer, make_key, settings):
    settings.DANGO_API_KEY_MAX_PER_USER = 2
    caller = make_key(viewer, name="one")
    make_key(viewer, name="two")
    response = post_key(key_client, {"name": "three", "password": PASSWORD}, caller.raw)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "too_many_keys"


def test_revoke_own_key(key_client, viewer, make_key, audit_log):
    caller = make_key(viewer, name="caller")
    target = make_key(viewer, name="target")
    response = key_client.delete(f"/api/keys/{target.key.pk}", HTTP_AUTHORIZATION=f"Bearer {caller.raw}")
    assert response.status_code == 200
    assert response.json()["status"] == "revoked"
    stored = ApiKey.objects.get(pk=target.key.pk)
    assert stored.revoked_at is not None
    assert stored.revoked_by_id == viewer.pk
    records = audit_log.records("api_key_revoked")
    assert len(records) == 1
    assert records[0]["target"]["id"] == target.key.pk
    assert key_client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {target.raw}").status_code == 401


def test_revoke_twice_conflicts(key_client, viewer, make_key):
    caller = make_key(viewer, name="caller")
    target = make_key(viewer, name="target")
    key_client.delete(f"/api/keys/{target.key.pk}", HTTP_AUTHORIZATION=f"Bearer {caller.raw}")
    response = key_client.delete(f"/api/keys/{target.key.pk}", HTTP_AUTHORIZATION=f"Bearer {caller.raw}")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_revoked"


def test_other_users_key_is_not_found(key_client, viewer, editor, make_key):
    caller = make_key(viewer)
    theirs = make_key(editor)
    assert key_client.get(f"/api/keys/{theirs.key.pk}", HTTP_AUTHORIZATION=f"Bearer {caller.raw}").status_code == 404
    response = key_client.delete(f"/api/keys/{theirs.key.pk}", HTTP_AUTHORIZATION=f"Bearer {caller.raw}")
    assert response.status_code == 404
    assert ApiKey.objects.get(pk=theirs.key.pk).revoked_at is None


def test_key_detail(key_client, viewer, make_key):
    caller = make_key(viewer, scopes=["health.view"])
    response = key_client.get(f"/api/keys/{caller.key.pk}", HTTP_AUTHORIZATION=f"Bearer {caller.raw}")
    assert response.status_code == 200
    assert response.json()["scopes"] == ["health.view"]
    assert response.json()["status"] == "active"


def test_sent_password_checked_even_when_confirmed(client, viewer):
    client.force_login(viewer)
    session = client.session
    session[REAUTHENTICATED_AT_KEY] = int(timezone.now().timestamp())
    session.save()
    response = post_key(client, {"name": "from browser", "password": "wrong"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "password_incorrect"
    assert not viewer.api_keys.exists()
