"""GET /api/credentials and POST /api/credentials/reveal, with planted canary secrets."""

import pytest
import time_machine
from django.test import Client
from django_otp.oath import totp

from accounts.reauth import REAUTHENTICATED_AT_KEY
from credentials.google_oauth import store_google_token
from credentials.store import SecretsStore

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-Horse-42"
CANARY_KEY = "canary-api-stripe-key-a1b2"
CANARY_PASSWORD = "canary-api-db-password-c3d4"
CLIENT_SECRET = "canary-api-client-secret-e5f6"
REFRESH_TOKEN = "canary-api-refresh-token-a7b8"
ACCESS_TOKEN = "canary-api-access-token-c9d0"
CANARIES = (CANARY_KEY, CANARY_PASSWORD, CLIENT_SECRET, REFRESH_TOKEN, ACCESS_TOKEN)
# Five seconds into a 30-second TOTP step, so a code computed here stays valid within the test.
EPOCH = 1_900_000_005


@pytest.fixture
def store(tmp_path, settings):
    root = tmp_path / "project"
    root.mkdir()
    settings.CREDENTIALS_PROJECT_ROOT = root
    return SecretsStore(root)


@pytest.fixture
def planted(store):
    store.set("sources.stripe.api_key", CANARY_KEY)
    store.set("destination.postgres.credentials.password", CANARY_PASSWORD)
    store_google_token(
        "sheets", client_id="1234-abc.apps.googleusercontent.com", client_secret=CLIENT_SECRET,
        refresh_token=REFRESH_TOKEN, account="analyst@example.com", scopes=["spreadsheets.readonly"],
        access_token=ACCESS_TOKEN, expires_in=3600,
    )
    return store


@pytest.fixture
def reveal_key(admin_user, make_key):
    """An Admin's key whose scopes name source.view_credentials explicitly."""
    return make_key(admin_user, name="reveal", scopes=["source.view", "source.view_credentials"])


def assert_no_canary(response) -> None:
    text = response.content.decode()
    for canary in CANARIES:
        assert canary not in text


def reveal(client, body, raw=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"} if raw else {}
    return client.post("/api/credentials/reveal", body, content_type="application/json", **headers)


def current_code(device) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


# Listing


def test_viewer_lists_masked(key_client, viewer, make_key, planted):
    """source.view lists every group and key masked, and the Google connection without tokens."""
    caller = make_key(viewer)
    response = key_client.get("/api/credentials", HTTP_AUTHORIZATION=f"Bearer {caller.raw}")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["file"] == ".dlt/secrets.toml"
    groups = {group["name"]: group["values"] for group in body["groups"]}
    assert groups["sources.stripe"] == [{"key": "api_key", "path": "sources.stripe.api_key", "masked": "••••a1b2"}]
    assert groups["destination.postgres"][0]["masked"] == "••••c3d4"
    assert "dango" not in groups
    assert body["oauth_sources"] == [{
        "source": "sheets", "account": "analyst@example.com", "scopes": ["spreadsheets.readonly"],
        "status": "connected", "expires_at": body["oauth_sources"][0]["expires_at"], "last_refresh_at": None,
        "last_error": None, "last_error_at": None, "missing_keys": [],
    }]
    assert body["oauth_sources"][0]["expires_at"].endswith("Z")
    assert_no_canary(response)


def test_list_empty_store(key_client, viewer, make_key, store):
    """Without a secrets file the list is empty."""
    caller = make_key(viewer)
    response = key_client.get("/api/credentials", HTTP_AUTHORIZATION=f"Bearer {caller.raw}")

    assert response.status_code == 200
    assert response.json()["groups"] == []
    assert response.json()["oauth_sources"] == []


def test_list_needs_source_view(key_client, viewer, make_key, planted, audit_log):
    """A key whose scopes leave out source.view gets 403 and a permission_denied record."""
    caller = make_key(viewer, scopes=["health.view"])
    response = key_client.get("/api/credentials", HTTP_AUTHORIZATION=f"Bearer {caller.raw}")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert audit_log.records("permission_denied")[0]["details"]["permission"] == "source.view"
    assert_no_canary(response)


def test_list_malformed_file(key_client, viewer, make_key, store):
    """A file that does not parse gets 409 with the line, and no value from the file."""
    store.path.parent.mkdir(parents=True)
    store.path.write_text(f'[sources.stripe]\napi_key = "{CANARY_KEY}\n')
    caller = make_key(viewer)
    response = key_client.get("/api/credentials", HTTP_AUTHORIZATION=f"Bearer {caller.raw}")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "credentials_unreadable"
    assert "line 2, column" in response.json()["error"]["message"]
    assert_no_canary(response)


def test_list_rejects_query_parameters(key_client, viewer, make_key, planted):
    """Unknown query parameters are rejected."""
    caller = make_key(viewer)
    response = key_client.get("/api/credentials?group=sources", HTTP_AUTHORIZATION=f"Bearer {caller.raw}")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_parameter"


# Revealing with an API key


def test_scoped_key_reveals(key_client, admin_user, reveal_key, planted, audit_log):
    """A key scoped to source.view_credentials reveals one value; secret_revealed names the key, not the value."""
    response = reveal(key_client, {"path": " sources.stripe.api_key "}, reveal_key.raw)

    assert response.status_code == 200
    assert response.json() == {"path": "sources.stripe.api_key", "value": CANARY_KEY}
    assert response["Cache-Control"] == "no-store"
    records = audit_log.records("secret_revealed")
    assert len(records) == 1
    assert records[0]["actor"] == {"id": admin_user.pk, "email": admin_user.email}
    assert records[0]["target"] == {"type": "secret", "path": "sources.stripe.api_key"}
    assert records[0]["details"] == {"key_prefix": reveal_key.key.prefix}
    assert CANARY_KEY not in audit_log.path.read_text()


def test_non_string_values_revealed_as_toml(key_client, reveal_key, store):
    """A value that is not a string is revealed in its TOML form."""
    store.path.parent.mkdir(parents=True)
    store.path.write_text("[sources.pg]\nport = 5432\n")
    response = reveal(key_client, {"path": "sources.pg.port"}, reveal_key.raw)

    assert response.status_code == 200
    assert response.json()["value"] == "5432"


def test_unscoped_key_cannot_reveal(key_client, admin_user, make_key, planted, audit_log):
    """An Admin's key without scopes gets 403 scope_required and reveals nothing."""
    caller = make_key(admin_user)
    response = reveal(key_client, {"path": "sources.stripe.api_key"}, caller.raw)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "scope_required"
    assert "source.view_credentials" in response.json()["error"]["message"]
    assert audit_log.records("secret_revealed") == []
    assert_no_canary(response)


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_role_without_permission_cannot_reveal(key_client, make_user, make_key, planted, audit_log, role):
    """Editors and Viewers lack source.view_credentials: 403 permission_denied."""
    user = make_user(f"{role}-reveal@example.com", role=role)
    caller = make_key(user)
    response = reveal(key_client, {"path": "sources.stripe.api_key"}, caller.raw)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert audit_log.records("secret_revealed") == []
    assert_no_canary(response)


def test_demoted_owner_key_stops_revealing(key_client, admin_user, make_user, reveal_key, planted):
    """Once the key's owner loses the Admin role, the scoped key no longer reveals."""
    from rbac.assignment import set_role
    from rbac.roles import Role

    make_user("second-admin@example.com", role="admin")
    set_role(admin_user, Role.EDITOR)
    response = reveal(key_client, {"path": "sources.stripe.api_key"}, reveal_key.raw)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert_no_canary(response)


def test_key_request_rejects_credentials_in_body(key_client, reveal_key, planted):
    """A key-authenticated reveal accepts only the path; a password field is an unknown field."""
    response = reveal(key_client, {"path": "sources.stripe.api_key", "password": PASSWORD}, reveal_key.raw)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_field"
    assert_no_canary(response)


@pytest.mark.parametrize("body,status,code", [
    ({}, 400, "missing_field"),
    ({"path": 5}, 400, "invalid_path"),
    ({"path": ["sources.stripe.api_key"]}, 400, "invalid_path"),
    ({"path": ""}, 400, "invalid_path"),
    ({"path": "sources..x"}, 400, "invalid_path"),
    ({"path": "stripe"}, 400, "invalid_path"),
    ({"path": "dango.oauth.sheets.access_token"}, 400, "invalid_path"),
    ({"path": "x" * 501}, 400, "invalid_path"),
    ({"path": "sources.stripe"}, 400, "invalid_path"),
    ({"path": "sources.nothing.here"}, 404, "not_found"),
    ({"path": "sources.stripe.api_key.deeper"}, 400, "invalid_path"),
])
def test_reveal_rejects_bad_paths(key_client, reveal_key, planted, audit_log, body, status, code):
    """Bad, reserved, missing and table paths get a clear error and reveal nothing."""
    response = reveal(key_client, body, reveal_key.raw)

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert audit_log.records("secret_revealed") == []
    assert_no_canary(response)


def test_reveal_malformed_file(key_client, reveal_key, store):
    """Revealing from a file that does not parse gets 409 and no value."""
    store.path.parent.mkdir(parents=True)
    store.path.write_text(f'[sources.stripe]\napi_key = "{CANARY_KEY}\n')
    response = reveal(key_client, {"path": "sources.stripe.api_key"}, reveal_key.raw)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "credentials_unreadable"
    assert_no_canary(response)


# Revealing with a session


def test_session_needs_sudo_mode(client, admin_user, verified_login, planted, audit_log):
    """A session outside the re-authentication window gets 403 reauthentication_required."""
    verified_login(client, admin_user, reauthenticated=False)
    response = reveal(client, {"path": "sources.stripe.api_key"})

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "reauthentication_required"
    assert response.json()["error"]["reauthenticate_url"].startswith("/account/reauthenticate/")
    assert audit_log.records("secret_revealed") == []
    assert_no_canary(response)


def test_session_in_sudo_mode_reveals(client, admin_user, verified_login, planted, audit_log):
    """A session re-authenticated within the window reveals without sending credentials."""
    verified_login(client, admin_user)
    response = reveal(client, {"path": "sources.stripe.api_key"})

    assert response.status_code == 200
    assert response.json()["value"] == CANARY_KEY
    record = audit_log.records("secret_revealed")[0]
    assert record["details"] == {}
    assert record["actor"]["id"] == admin_user.pk


def test_session_sends_password_and_code(client, admin_user, verified_login, planted):
    """Password and code in the body re-authenticate the session; the password alone is not enough with 2FA."""
    with time_machine.travel(EPOCH, tick=False):
        device = verified_login(client, admin_user, reauthenticated=False)
        without_code = reveal(client, {"path": "sources.stripe.api_key", "password": PASSWORD})
        wrong_password = reveal(client, {"path": "sources.stripe.api_key", "password": "wrong-password",
                                         "code": current_code(device)})
        response = reveal(client, {"path": "sources.stripe.api_key", "password": PASSWORD,
                                   "code": current_code(device)})
        again = reveal(client, {"path": "destination.postgres.credentials.password"})

    assert without_code.status_code == 403
    assert without_code.json()["error"]["code"] == "code_required"
    assert wrong_password.status_code == 403
    assert wrong_password.json()["error"]["code"] == "password_incorrect"
    assert response.status_code == 200
    assert response.json()["value"] == CANARY_KEY
    assert REAUTHENTICATED_AT_KEY in client.session
    assert again.status_code == 200
    assert again.json()["value"] == CANARY_PASSWORD


def test_session_reveal_checks_csrf(admin_user, verified_login, planted):
    """A session reveal without the CSRF token is rejected before anything is read."""
    browser = Client(enforce_csrf_checks=True)
    verified_login(browser, admin_user)
    response = reveal(browser, {"path": "sources.stripe.api_key"})

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    assert_no_canary(response)
