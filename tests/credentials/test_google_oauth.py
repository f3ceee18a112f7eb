"""Google OAuth source tokens against a fake token server on 127.0.0.1."""

import logging
import socket
import tomllib
from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from credentials import google_oauth
from credentials.exceptions import InvalidSecretPath
from credentials.google_oauth import (
    ReconnectRequired,
    RevokeFailed,
    SourceNotConnected,
    Status,
    TokenRefreshError,
    get_access_token,
    load_state,
    store_google_token,
)

from .fake_google import FakeGoogle

T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
CLIENT_SECRET = "canary-client-secret-4417"
REFRESH_TOKEN = "canary-refresh-token-8822"
ACCESS_TOKEN = "canary-access-token-1199"
SECRETS = (CLIENT_SECRET, REFRESH_TOKEN, ACCESS_TOKEN, "fresh-token-1", "fresh-token-2", "rotated-refresh-token")


@pytest.fixture
def google(settings, project):
    server = FakeGoogle().start()
    settings.CREDENTIALS_GOOGLE_TOKEN_URL = server.token_url
    settings.CREDENTIALS_GOOGLE_REVOKE_URL = server.revoke_url
    yield server
    server.stop()


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def connected(store, google, clock):
    """The source "sheets", connected at T0 with an access token valid for one hour."""
    store_google_token(
        "sheets",
        client_id="1234-abc.apps.googleusercontent.com",
        client_secret=CLIENT_SECRET,
        refresh_token=REFRESH_TOKEN,
        account="analyst@example.com",
        scopes=["https://www.googleapis.com/auth/spreadsheets.readonly"],
        access_token=ACCESS_TOKEN,
        expires_in=3600,
    )
    return store


def assert_no_secret(value) -> None:
    text = repr(value)
    for secret in SECRETS:
        assert secret not in text


def test_store_writes_where_dlt_reads(connected, sent_signals):
    """client_id, client_secret and refresh_token go to [sources.<source>.credentials]; metadata apart."""
    data = tomllib.loads(connected.path.read_text(encoding="utf-8"))
    assert data["sources"]["sheets"]["credentials"] == {
        "client_id": "1234-abc.apps.googleusercontent.com",
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
    }
    metadata = data["dango"]["oauth"]["sheets"]
    assert metadata["account"] == "analyst@example.com"
    assert metadata["status"] == Status.CONNECTED
    assert metadata["expires_at"] == T0 + timedelta(hours=1)
    assert metadata["access_token"] == ACCESS_TOKEN


def test_store_sends_signal_without_secrets(store, google, sent_signals):
    """oauth_token_stored names the source, account and scopes, never a token."""
    store_google_token(
        "sheets", client_id="id", client_secret=CLIENT_SECRET, refresh_token=REFRESH_TOKEN, account="a@example.com"
    )
    assert [name for name, _ in sent_signals] == ["oauth_token_stored"]
    kwargs = sent_signals[0][1]
    assert kwargs["source"] == "sheets"
    assert kwargs["account"] == "a@example.com"
    assert_no_secret(kwargs)


@pytest.mark.parametrize("field", ["client_id", "client_secret", "refresh_token"])
def test_store_rejects_empty_credentials(store, google, field):
    """An empty client_id, client_secret or refresh_token is rejected and nothing is written."""
    values = {"client_id": "id", "client_secret": "secret", "refresh_token": "refresh"}
    values[field] = " "
    with pytest.raises(google_oauth.OAuthSourceError) as caught:
        store_google_token("sheets", **values)
    assert field in str(caught.value)
    assert not store.exists()


def test_fresh_token_needs_no_request(connected, google):
    """A token valid beyond the margin is returned without calling Google."""
    assert get_access_token("sheets") == ACCESS_TOKEN
    assert google.requests == []


def test_refresh_success(connected, google, clock, sent_signals):
    """An expired token is refreshed with the stored grant and saved with its new expiry."""
    clock.shift(timedelta(hours=2))
    assert get_access_token("sheets") == "fresh-token-1"

    (request,) = google.requests_to("/token")
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.form == {
        "client_id": "1234-abc.apps.googleusercontent.com",
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
        "grant_type": "refresh_token",
    }
    state = load_state("sheets")
    now = T0 + timedelta(hours=2)
    assert state.access_token == "fresh-token-1"
    assert state.expires_at == now + timedelta(seconds=3599)
    assert state.last_refresh_at == now
    assert state.refresh_token == REFRESH_TOKEN
    assert get_access_token("sheets") == "fresh-token-1"
    assert len(google.requests_to("/token")) == 1

    assert [name for name, _ in sent_signals] == ["oauth_token_refreshed"]
    kwargs = sent_signals[0][1]
    assert kwargs["source"] == "sheets"
    assert kwargs["expires_at"] == now + timedelta(seconds=3599)
    assert kwargs["refresh_token_rotated"] is False
    assert_no_secret(kwargs)


@pytest.mark.parametrize(
    "seconds_left,refreshes",
    [(3600, 0), (61, 0), (60, 1), (59, 1), (0, 1), (-30, 1)],
)
def test_refresh_ahead_of_expiry(connected, google, clock, seconds_left, refreshes):
    """A token is refreshed once it expires within the 60-second margin, not before."""
    clock.move_to(T0 + timedelta(seconds=3600 - seconds_left))
    token = get_access_token("sheets")
    assert len(google.requests_to("/token")) == refreshes
    assert token == (ACCESS_TOKEN if refreshes == 0 else "fresh-token-1")


def test_refresh_margin_is_a_setting(connected, google, clock, settings):
    """CREDENTIALS_REFRESH_MARGIN moves the point where refreshing starts."""
    settings.CREDENTIALS_REFRESH_MARGIN = 600
    clock.move_to(T0 + timedelta(seconds=3600 - 599))
    assert get_access_token("sheets") == "fresh-token-1"


def test_invalid_grant_needs_reconnection(connected, google, clock, sent_signals, caplog):
    """invalid_grant marks the source for reconnection after one request, and later calls ask no more."""
    clock.shift(timedelta(hours=2))
    google.reply_token(400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
    with pytest.raises(ReconnectRequired) as caught:
        get_access_token("sheets")
    assert "Reconnect the source" in str(caught.value)
    assert len(google.requests_to("/token")) == 1

    state = load_state("sheets")
    assert state.status == Status.RECONNECT_REQUIRED
    assert state.last_error == "invalid_grant"
    with pytest.raises(ReconnectRequired):
        get_access_token("sheets")
    assert len(google.requests_to("/token")) == 1

    assert [name for name, _ in sent_signals] == ["oauth_token_refresh_failed"]
    kwargs = sent_signals[0][1]
    assert kwargs == {"source": "sheets", "error": "invalid_grant", "permanent": True}
    for secret in SECRETS:
        assert secret not in caplog.text


def test_invalid_client_is_not_retried(connected, google, clock):
    """invalid_client (wrong client credentials) is final: one request, status invalid_client."""
    clock.shift(timedelta(hours=2))
    google.reply_token(401, {"error": "invalid_client", "error_description": "Unauthorized"})
    with pytest.raises(ReconnectRequired) as caught:
        get_access_token("sheets")
    assert "client_id/client_secret" in str(caught.value)
    assert len(google.requests_to("/token")) == 1
    assert load_state("sheets").status == Status.INVALID_CLIENT


def test_server_errors_then_success(connected, google, clock, sent_signals, caplog):
    """5xx responses are retried with back-off until a success, which is stored as usual."""
    clock.shift(timedelta(hours=2))
    google.reply_token(503, {"error": "backend_error"})
    google.reply_token(500)
    with caplog.at_level(logging.WARNING, logger="credentials"):
        assert get_access_token("sheets") == "fresh-token-1"
    assert len(google.requests_to("/token")) == 3
    assert "backend_error (attempt 1 of 4)" in caplog.text
    assert "http_500 (attempt 2 of 4)" in caplog.text
    assert [name for name, _ in sent_signals] == ["oauth_token_refreshed"]
    assert load_state("sheets").last_error == ""


def test_rate_limit_is_retried(connected, google, clock):
    """A 429 is retried, waiting Retry-After capped by the back-off maximum."""
    clock.shift(timedelta(hours=2))
    google.reply_token(429, {"error": "rate_limit_exceeded"}, headers={"Retry-After": "3600"})
    assert get_access_token("sheets") == "fresh-token-1"
    assert len(google.requests_to("/token")) == 2


def test_transient_errors_exhaust_attempts(connected, google, clock, sent_signals):
    """After CREDENTIALS_REFRESH_ATTEMPTS failures the error is raised, recorded and announced, status kept."""
    clock.shift(timedelta(hours=2))
    for _ in range(4):
        google.reply_token(502)
    with pytest.raises(TokenRefreshError) as caught:
        get_access_token("sheets")
    assert "http_502" in str(caught.value)
    assert len(google.requests_to("/token")) == 4
    state = load_state("sheets")
    assert state.status == Status.CONNECTED
    assert state.last_error == "http_502"
    assert state.last_error_at == T0 + timedelta(hours=2)
    assert sent_signals == [("oauth_token_refresh_failed", {"source": "sheets", "error": "http_502", "permanent": False})]
    # The next call tries again, and a success clears the error.
    assert get_access_token("sheets") == "fresh-token-1"
    assert load_state("sheets").last_error == ""


def test_unreachable_server_is_retried(connected, settings, clock):
    """A refused connection counts as transient: every attempt is made, then TokenRefreshError."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CREDENTIALS_GOOGLE_TOKEN_URL = f"http://127.0.0.1:{port}/token"
    settings.CREDENTIALS_REFRESH_ATTEMPTS = 2
    clock.shift(timedelta(hours=2))
    with pytest.raises(TokenRefreshError) as caught:
        get_access_token("sheets")
    assert "network" in str(caught.value)
    assert load_state("sheets").last_error == "network"


def test_new_refresh_token_replaces_old(connected, google, clock, sent_signals):
    """A refresh token in the reply replaces the stored one, and the signal reports the rotation."""
    clock.shift(timedelta(hours=2))
    google.reply_token(200, {"access_token": "fresh-token-2", "expires_in": 3599, "refresh_token": "rotated-refresh-token"})
    assert get_access_token("sheets") == "fresh-token-2"
    data = tomllib.loads(connected.path.read_text(encoding="utf-8"))
    assert data["sources"]["sheets"]["credentials"]["refresh_token"] == "rotated-refresh-token"
    assert sent_signals[0][1]["refresh_token_rotated"] is True

    clock.shift(timedelta(hours=2))
    get_access_token("sheets")
    assert google.requests_to("/token")[-1].form["refresh_token"] == "rotated-refresh-token"


def test_reply_without_access_token(connected, google, clock):
    """A 200 reply without an access token is an error, not a stored empty token."""
    clock.shift(timedelta(hours=2))
    google.reply_token(200, {"token_type": "Bearer"})
    with pytest.raises(TokenRefreshError) as caught:
        get_access_token("sheets")
    assert "invalid_response" in str(caught.value)
    assert load_state("sheets").access_token == ACCESS_TOKEN


def test_disconnect_revokes_and_removes(connected, google, sent_signals):
    """Disconnect revokes the refresh token at Google and removes it with the metadata."""
    assert google_oauth.disconnect("sheets") is True
    (request,) = google.requests_to("/revoke")
    assert request.form == {"token": REFRESH_TOKEN}
    data = tomllib.loads(connected.path.read_text(encoding="utf-8"))
    assert data["sources"]["sheets"]["credentials"] == {
        "client_id": "1234-abc.apps.googleusercontent.com",
        "client_secret": CLIENT_SECRET,
    }
    assert "sheets" not in data.get("dango", {}).get("oauth", {})
    assert sent_signals == [
        ("oauth_token_revoked", {"source": "sheets", "revoked_at_provider": True, "actor": None, "request": None})
    ]
    with pytest.raises(SourceNotConnected):
        get_access_token("sheets")


def test_disconnect_of_token_google_forgot(connected, google, sent_signals):
    """A 400 from the revoke endpoint means the token is already invalid: it is removed anyway."""
    google.reply_revoke(400, {"error": "invalid_token"})
    assert google_oauth.disconnect("sheets") is False
    assert sent_signals[0][1]["revoked_at_provider"] is False
    assert "sheets" not in google_oauth.oauth_source_names(connected.load())


def test_disconnect_keeps_token_when_google_fails(connected, google, sent_signals):
    """When Google keeps failing, disconnect raises and the token stays stored for another try."""
    for _ in range(4):
        google.reply_revoke(503)
    with pytest.raises(RevokeFailed) as caught:
        google_oauth.disconnect("sheets")
    assert "still stored" in str(caught.value)
    assert load_state("sheets").refresh_token == REFRESH_TOKEN
    assert sent_signals == []


def test_unknown_and_invalid_sources(store, google):
    """An unconnected source and a malformed source name are reported clearly."""
    with pytest.raises(SourceNotConnected) as caught:
        get_access_token("nothing")
    assert "not connected" in str(caught.value)
    with pytest.raises(InvalidSecretPath):
        get_access_token("bad name")


def test_token_state_repr_hides_secrets(connected):
    """TokenState's repr, which could end up in a log line, shows no secret."""
    assert_no_secret(load_state("sheets"))
    assert_no_secret(load_state("sheets").summary())
