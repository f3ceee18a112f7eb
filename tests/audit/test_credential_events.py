"""The credentials events, each triggered through its real code path; no secret value reaches the log."""

import getpass
import io
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from credentials.google_oauth import ReconnectRequired, get_access_token, store_google_token
from tests.credentials.fake_google import FakeGoogle

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-Horse-42"
IP = "192.0.2.70"
T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
STRIPE_KEY = "Canary-Stripe-Key-7a41c0"
CLIENT_SECRET = "Canary-Client-Secret-52d9"
REFRESH_TOKEN = "Canary-Refresh-Token-0e83"
ACCESS_TOKEN = "Canary-Access-Token-9b17"


@pytest.fixture
def project(tmp_path, settings):
    root = tmp_path / "project"
    root.mkdir()
    settings.CREDENTIALS_PROJECT_ROOT = root
    settings.CREDENTIALS_REFRESH_BACKOFF = 0.001
    settings.CREDENTIALS_REFRESH_BACKOFF_MAX = 0.01
    return root


@pytest.fixture
def google(settings, project):
    server = FakeGoogle().start()
    settings.CREDENTIALS_GOOGLE_TOKEN_URL = server.token_url
    settings.CREDENTIALS_GOOGLE_REVOKE_URL = server.revoke_url
    yield server
    server.stop()


@pytest.fixture
def editor(make_user):
    return make_user("editor@example.com", password=PASSWORD, role="editor")


@pytest.fixture
def editor_client(editor):
    client = Client(REMOTE_ADDR=IP)
    client.force_login(editor)
    return client


@pytest.fixture
def admin_client_with_reauth(make_user, verified_login):
    """An Admin's client past the second factor and in the re-authentication window."""
    admin = make_user("admin@example.com", password=PASSWORD, role="admin")
    client = Client(REMOTE_ADDR=IP)
    verified_login(client, admin)
    client.admin = admin
    return client


def only(audit_log, event: str) -> dict:
    records = audit_log.records(event)
    assert len(records) == 1, f"expected one {event} record, found {len(records)}: {audit_log.events()}"
    return records[0]


def actor_ref(user) -> dict:
    return {"id": user.pk, "email": user.email}


def assert_not_in_log(audit_log, *secrets: str) -> None:
    text = audit_log.path.read_text()
    for secret in secrets:
        assert secret not in text
        assert secret.lower() not in text.lower()


def connect_sheets(actor=None, access_token=ACCESS_TOKEN) -> None:
    store_google_token(
        "sheets", client_id="1234-abc.apps.googleusercontent.com", client_secret=CLIENT_SECRET,
        refresh_token=REFRESH_TOKEN, account="analyst@example.com",
        scopes=["https://www.googleapis.com/auth/spreadsheets.readonly"], access_token=access_token,
        expires_in=3600, actor=actor,
    )


def test_secret_set_from_page(project, editor, editor_client, audit_log):
    """Setting a value on the Credentials page records secret_set with the path, never the value."""
    response = editor_client.post("/credentials/set/", {"path": "sources.stripe.api_key", "value": STRIPE_KEY})

    assert response.status_code == 302
    record = only(audit_log, "secret_set")
    assert record["actor"] == actor_ref(editor)
    assert record["target"] == {"type": "secret", "path": "sources.stripe.api_key"}
    assert record["ip"] == IP
    assert record["details"] == {"created": True}
    assert_not_in_log(audit_log, STRIPE_KEY)


def test_secret_set_changed_from_command_line(project, audit_log, monkeypatch):
    """A change made by ``manage.py secrets set`` has no actor and names the operating-system account."""
    monkeypatch.setattr("sys.stdin", io.StringIO("first-value-123\n"))
    call_command("secrets", "set", "sources.stripe.api_key", "--stdin", stdout=io.StringIO())
    monkeypatch.setattr("sys.stdin", io.StringIO(STRIPE_KEY + "\n"))
    call_command("secrets", "set", "sources.stripe.api_key", "--stdin", stdout=io.StringIO())

    first, second = audit_log.records("secret_set")
    assert first["details"]["created"] is True
    assert second["actor"] is None
    assert second["ip"] is None
    assert second["target"] == {"type": "secret", "path": "sources.stripe.api_key"}
    assert second["details"] == {"created": False, "os_user": getpass.getuser()}
    assert_not_in_log(audit_log, STRIPE_KEY, "first-value-123")


def test_secret_deleted_from_page(project, editor, editor_client, audit_log):
    """Deleting on the Credentials page records secret_deleted with the path."""
    editor_client.post("/credentials/set/", {"path": "sources.stripe.api_key", "value": STRIPE_KEY})

    response = editor_client.post("/credentials/delete/", {"path": "sources.stripe.api_key"})

    assert response.status_code == 302
    record = only(audit_log, "secret_deleted")
    assert record["actor"] == actor_ref(editor)
    assert record["target"] == {"type": "secret", "path": "sources.stripe.api_key"}
    assert record["ip"] == IP
    assert record["details"] == {}
    assert_not_in_log(audit_log, STRIPE_KEY)


def test_secret_revealed_from_page(project, admin_client_with_reauth, audit_log):
    """Revealing on the Credentials page records secret_revealed with the path, never the value."""
    client = admin_client_with_reauth
    client.post("/credentials/set/", {"path": "sources.stripe.api_key", "value": STRIPE_KEY})

    response = client.post("/credentials/reveal/", {"path": "sources.stripe.api_key"})

    assert response.status_code == 200
    assert STRIPE_KEY in response.content.decode()
    record = only(audit_log, "secret_revealed")
    assert record["actor"] == actor_ref(client.admin)
    assert record["target"] == {"type": "secret", "path": "sources.stripe.api_key"}
    assert record["ip"] == IP
    assert record["details"] == {}
    assert_not_in_log(audit_log, STRIPE_KEY)


def test_reveal_without_reauthentication_not_recorded(project, make_user, verified_login, audit_log):
    """A reveal that is sent to the re-authentication page records no secret_revealed."""
    admin = make_user("admin@example.com", password=PASSWORD, role="admin")
    client = Client(REMOTE_ADDR=IP)
    verified_login(client, admin, reauthenticated=False)

    response = client.post("/credentials/reveal/", {"path": "sources.stripe.api_key"})

    assert response.status_code == 302
    assert audit_log.records("secret_revealed") == []


def test_oauth_token_stored(project, editor, audit_log):
    """Storing a source's Google tokens records oauth_token_stored with the source, account and scopes."""
    connect_sheets(actor=editor)

    record = only(audit_log, "oauth_token_stored")
    assert record["actor"] == actor_ref(editor)
    assert record["target"] == {"type": "oauth_source", "source": "sheets"}
    assert record["ip"] is None
    assert record["details"] == {
        "account": "analyst@example.com",
        "scopes": ["https://www.googleapis.com/auth/spreadsheets.readonly"],
        "os_user": getpass.getuser(),
    }
    assert_not_in_log(audit_log, CLIENT_SECRET, REFRESH_TOKEN, ACCESS_TOKEN)


def test_oauth_token_refreshed(project, google, audit_log):
    """An expired access token is refreshed at the fake Google and oauth_token_refreshed records the expiry."""
    google.reply_token(200, {"access_token": "Canary-Fresh-Token-3c55", "expires_in": 3599,
                             "refresh_token": "Canary-Rotated-Refresh-81f2"})
    with time_machine.travel(T0, tick=False) as clock:
        connect_sheets()
        clock.shift(timedelta(hours=2))
        assert get_access_token("sheets") == "Canary-Fresh-Token-3c55"

    record = only(audit_log, "oauth_token_refreshed")
    assert record["actor"] is None
    assert record["target"] == {"type": "oauth_source", "source": "sheets"}
    assert record["details"] == {"expires_at": "2025-03-01T14:59:59+00:00", "rotated": True}
    assert_not_in_log(audit_log, CLIENT_SECRET, REFRESH_TOKEN, ACCESS_TOKEN, "Canary-Fresh-Token-3c55",
                      "Canary-Rotated-Refresh-81f2")


def test_oauth_token_refresh_failed(project, google, audit_log):
    """A refresh that Google rejects with invalid_grant records a permanent oauth_token_refresh_failed."""
    google.reply_token(400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
    with time_machine.travel(T0, tick=False) as clock:
        connect_sheets()
        clock.shift(timedelta(hours=2))
        with pytest.raises(ReconnectRequired):
            get_access_token("sheets")

    record = only(audit_log, "oauth_token_refresh_failed")
    assert record["actor"] is None
    assert record["target"] == {"type": "oauth_source", "source": "sheets"}
    assert record["details"] == {"reason": "invalid_grant", "permanent": True}
    assert_not_in_log(audit_log, CLIENT_SECRET, REFRESH_TOKEN, ACCESS_TOKEN)


def test_oauth_token_revoked_from_page(project, google, editor, editor_client, audit_log):
    """Disconnecting a source on the Credentials page records oauth_token_revoked."""
    connect_sheets(actor=editor)

    response = editor_client.post("/credentials/oauth/sheets/disconnect/")

    assert response.status_code == 302
    assert google.requests_to("/revoke")[0].form == {"token": REFRESH_TOKEN}
    record = only(audit_log, "oauth_token_revoked")
    assert record["actor"] == actor_ref(editor)
    assert record["target"] == {"type": "oauth_source", "source": "sheets"}
    assert record["ip"] == IP
    assert record["details"] == {"revoked_at_provider": True}
    assert_not_in_log(audit_log, CLIENT_SECRET, REFRESH_TOKEN, ACCESS_TOKEN)


def test_credentials_page_canaries_stay_out_of_log(project, editor_client, admin_client_with_reauth, audit_log):
    """Values set, changed and revealed through the Credentials page never reach the audit log."""
    canaries = {
        "api key": "Canary-Page-Api-Key-1f0a",
        "changed api key": "Canary-Page-Changed-Key-2e1b",
        "database password": "Canary-Page-Db-Password-3d2c",
        "multi-line key": "-----BEGIN PRIVATE KEY-----\nCanary-Page-Pem-Body-4c3d\n-----END PRIVATE KEY-----",
        "rejected value": "Canary-Page-Rejected-5b4e",
    }
    admin = admin_client_with_reauth

    editor_client.post("/credentials/set/", {"path": "sources.stripe.api_key", "value": canaries["api key"]})
    editor_client.post("/credentials/set/", {"path": "sources.stripe.api_key", "value": canaries["changed api key"]})
    editor_client.post("/credentials/set/", {"path": "destination.postgres.credentials.password",
                                             "value": canaries["database password"]})
    editor_client.post("/credentials/set/", {"path": "sources.bigquery.private_key",
                                             "value": canaries["multi-line key"]})
    rejected = editor_client.post("/credentials/set/", {"path": "sources..x", "value": canaries["rejected value"]})
    assert rejected.status_code == 400
    for path in ("sources.stripe.api_key", "destination.postgres.credentials.password", "sources.bigquery.private_key"):
        assert admin.post("/credentials/reveal/", {"path": path}).status_code == 200
    editor_client.post("/credentials/delete/", {"path": "sources.stripe.api_key"})

    assert audit_log.events().count("secret_set") == 4
    assert audit_log.events().count("secret_revealed") == 3
    assert audit_log.events().count("secret_deleted") == 1
    for label, secret in canaries.items():
        for part in secret.splitlines():
            assert len(part) >= 8, label
            assert_not_in_log(audit_log, part)
