import re
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import time_machine
from django.utils import timezone
from django_otp.oath import totp

from accounts.apikeys.keys import hash_key
from accounts.apikeys.models import ApiKey
from accounts.apikeys.operations import revoke_api_key
from accounts.reauth import REAUTHENTICATED_AT_KEY

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-Horse-42"
KEY_IN_PAGE = re.compile(r"dango_ak_[A-Za-z0-9_-]{43}")


def confirm(client):
    session = client.session
    session[REAUTHENTICATED_AT_KEY] = int(timezone.now().timestamp())
    session.save()


def test_account_page_lists_keys(client, viewer, make_key):
    active = make_key(viewer, name="nightly export", scopes=["health.view"], expires_in_days=30)
    revoked = make_key(viewer, name="old script")
    revoke_api_key(revoked.key, by=viewer)
    client.force_login(viewer)
    page = client.get("/account/").content.decode()
    assert active.key.prefix in page
    assert "nightly export" in page
    assert "health.view" in page
    assert active.key.expires_at.strftime("%Y-%m-%d") in page
    assert "Revoked" in page
    assert page.count("Revoke</button>") == 1
    assert not KEY_IN_PAGE.search(page)


def test_account_page_shows_last_use(client, key_client, viewer, make_key):
    created = make_key(viewer)
    key_client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {created.raw}", REMOTE_ADDR="192.0.2.44")
    client.force_login(viewer)
    assert "from 192.0.2.44" in client.get("/account/").content.decode()


def test_account_page_lists_only_own_keys(client, viewer, editor, make_key):
    theirs = make_key(editor, name="editor key")
    client.force_login(viewer)
    page = client.get("/account/").content.decode()
    assert theirs.key.prefix not in page
    assert "You have no API keys." in page


def test_create_asks_for_password_first(client, viewer):
    client.force_login(viewer)
    response = client.get("/account/api-keys/new/")
    assert response.status_code == 302
    assert response["Location"] == "/account/reauthenticate/?next=%2Faccount%2Fapi-keys%2Fnew%2F"
    response = client.post("/account/api-keys/new/", {"name": "x", "expires_in_days": 30})
    assert response.status_code == 302
    assert response["Location"].startswith("/account/reauthenticate/")
    assert not viewer.api_keys.exists()


def test_wrong_password_does_not_confirm(client, viewer):
    client.force_login(viewer)
    response = client.post("/account/reauthenticate/", {"password": "wrong", "next": "/account/api-keys/new/"})
    assert response.status_code == 200
    assert "The password is not correct." in response.content.decode()
    assert client.get("/account/api-keys/new/").status_code == 302


def test_password_confirmation_rate_limited(client, viewer, audit_log):
    client.force_login(viewer)
    # The start of a 300-second rate-limit window, so every attempt falls into it.
    start = datetime.fromtimestamp((int(timezone.now().timestamp()) // 300 + 1) * 300, tz=dt_timezone.utc)
    with time_machine.travel(start, tick=False):
        for _ in range(10):
            client.post("/account/reauthenticate/", {"password": ""})
        response = client.post("/account/reauthenticate/", {"password": PASSWORD})
    assert response.status_code == 429
    assert response["Retry-After"] == "300"
    assert len(audit_log.records("rate_limit_hit")) == 1
    assert audit_log.records("rate_limit_hit")[0]["details"]["limit"] == "reauthenticate"


def test_confirmation_expires(client, viewer, settings):
    settings.DANGO_REAUTH_TIMEOUT = 300
    client.force_login(viewer)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.post("/account/reauthenticate/", {"password": PASSWORD})
    with time_machine.travel(start + timedelta(seconds=299), tick=False):
        assert client.get("/account/api-keys/new/").status_code == 200
    with time_machine.travel(start + timedelta(seconds=301), tick=False):
        assert client.get("/account/api-keys/new/").status_code == 302


def test_two_factor_user_confirms_with_code(client, make_user, verified_login):
    user = make_user("two-factor@example.com", password=PASSWORD, role="viewer")
    device = verified_login(client, user, reauthenticated=False)
    response = client.post("/account/reauthenticate/", {"password": PASSWORD, "next": "/account/api-keys/new/"})
    assert "This field is required" in response.content.decode()
    assert client.get("/account/api-keys/new/").status_code == 302
    code = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
    response = client.post("/account/reauthenticate/",
                           {"password": PASSWORD, "code": code, "next": "/account/api-keys/new/"})
    assert response["Location"] == "/account/api-keys/new/"
    assert client.get("/account/api-keys/new/").status_code == 200


def test_confirmation_redirects_to_next(client, viewer):
    client.force_login(viewer)
    response = client.post("/account/reauthenticate/", {"password": PASSWORD, "next": "/account/api-keys/new/"})
    assert response.status_code == 302
    assert response["Location"] == "/account/api-keys/new/"


@pytest.mark.parametrize("next_url", ["https://attacker.example/", "//attacker.example/", "javascript:alert(1)"])
def test_confirmation_ignores_foreign_next(client, viewer, next_url):
    client.force_login(viewer)
    response = client.post("/account/reauthenticate/", {"password": PASSWORD, "next": next_url})
    assert response["Location"] == "/account/"


def test_old_confirmation_page_is_gone(client, viewer):
    client.force_login(viewer)
    assert client.get("/account/api-keys/confirm-password/").status_code == 404


def test_create_shows_key_once(client, key_client, viewer, audit_log):
    client.force_login(viewer)
    confirm(client)
    form = client.get("/account/api-keys/new/").content.decode()
    assert 'value="health.view"' in form
    assert 'value="users.view"' not in form
    response = client.post("/account/api-keys/new/", {"name": "cron", "expires_in_days": 30, "scopes": ["health.view"]})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    raw = KEY_IN_PAGE.search(page).group(0)
    stored = ApiKey.objects.get(user=viewer)
    assert stored.key_hash == hash_key(raw)
    assert stored.scopes == ["health.view"]
    assert 'data-copy-target="new-api-key"' in page
    assert "/static/dango/apikeys.js" in page
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None
    assert len(audit_log.records("api_key_created")) == 1
    assert raw not in client.get("/account/").content.decode()
    assert key_client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}").json()["permissions"] == ["health.view"]


def test_create_form_errors(client, viewer, make_key):
    make_key(viewer, name="cron")
    client.force_login(viewer)
    confirm(client)
    response = client.post("/account/api-keys/new/", {"name": "cron", "expires_in_days": 30})
    assert "You already have a key named" in response.content.decode()
    response = client.post("/account/api-keys/new/", {"name": "other", "expires_in_days": 9999})
    assert "exceeds this server" in response.content.decode()
    response = client.post("/account/api-keys/new/", {"name": "other", "expires_in_days": 30, "scopes": ["users.manage"]})
    assert "users.manage is not one of the available choices" in response.content.decode()
    assert viewer.api_keys.count() == 1


def test_revoke_from_account_page(client, key_client, viewer, make_key, audit_log):
    created = make_key(viewer)
    client.force_login(viewer)
    response = client.post(f"/account/api-keys/{created.key.pk}/revoke/")
    assert response.status_code == 302
    assert ApiKey.objects.get(pk=created.key.pk).revoked_at is not None
    assert len(audit_log.records("api_key_revoked")) == 1
    assert key_client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {created.raw}").status_code == 401


def test_revoke_needs_post(client, viewer, make_key):
    created = make_key(viewer)
    client.force_login(viewer)
    assert client.get(f"/account/api-keys/{created.key.pk}/revoke/").status_code == 405


def test_cannot_revoke_other_users_key(client, viewer, editor, make_key):
    theirs = make_key(editor)
    client.force_login(viewer)
    assert client.post(f"/account/api-keys/{theirs.key.pk}/revoke/").status_code == 404
    assert ApiKey.objects.get(pk=theirs.key.pk).revoked_at is None


def test_admin_lists_everyones_keys(admin_client, viewer, editor, make_key):
    first = make_key(viewer, name="viewer key")
    second = make_key(editor, name="editor key")
    page = admin_client.get("/admin/accounts/apikey/").content.decode()
    assert first.key.prefix in page
    assert second.key.prefix in page
    assert first.key.key_hash not in page


def test_admin_revokes_keys(admin_client, admin_user, viewer, make_key, audit_log):
    created = make_key(viewer)
    response = admin_client.post(
        "/admin/accounts/apikey/", {"action": "revoke_selected", "_selected_action": [created.key.pk]}
    )
    assert response.status_code == 302
    stored = ApiKey.objects.get(pk=created.key.pk)
    assert stored.revoked_by_id == admin_user.pk
    records = audit_log.records("api_key_revoked")
    assert len(records) == 1
    assert records[0]["actor"]["id"] == admin_user.pk


def test_admin_key_page_closed_to_others(client, editor):
    client.force_login(editor)
    response = client.get("/admin/accounts/apikey/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_admin_key_detail_is_read_only(admin_client, viewer, make_key):
    created = make_key(viewer, scopes=["health.view"])
    response = admin_client.get(f"/admin/accounts/apikey/{created.key.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "health.view" in page
    assert 'name="name"' not in page
    assert created.key.key_hash not in page
