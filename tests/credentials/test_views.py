"""The Credentials pages and the admin list, by role, with planted canary secrets."""

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.urls import reverse
from django_otp.oath import totp

from accounts.reauth import REAUTHENTICATED_AT_KEY
from credentials.google_oauth import store_google_token

from .fake_google import FakeGoogle

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-Horse-42"
CANARY_KEY = "canary-view-stripe-key-a1b2"
CANARY_PASSWORD = "canary-view-db-password-c3d4"
CANARIES = (CANARY_KEY, CANARY_PASSWORD)
INDEX = "/credentials/"


@pytest.fixture
def planted(store):
    store.set("sources.stripe.api_key", CANARY_KEY)
    store.set("destination.postgres.credentials.password", CANARY_PASSWORD)
    return store


def login(client, make_user, role):
    user = make_user(f"{role}@example.com", password=PASSWORD, role=role)
    client.force_login(user)
    return user


@pytest.fixture
def admin_login(make_user, verified_login):
    """Return a function that signs an Admin in past the second factor, without a recent re-authentication.

    Admins must have two-factor authentication, so the Admin gets a TOTP
    device; re-authenticating then takes the password and a current code.
    """

    def sign_in(client, email="admin@example.com", password=PASSWORD):
        user = make_user(email, password=password, role="admin")
        user.device = verified_login(client, user, reauthenticated=False)
        return user

    return sign_in


def current_code(device) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def assert_no_canary(response) -> None:
    text = response.content.decode()
    for canary in CANARIES:
        assert canary not in text


def confirm(client, password=PASSWORD, **extra):
    """Post the re-authentication page, returning to the Credentials page."""
    return client.post(reverse("reauthenticate"), {"password": password, "next": INDEX, **extra})


def confirm_with_code(client, user, password=PASSWORD):
    return confirm(client, password=password, code=current_code(user.device))


def reveal(client, path="sources.stripe.api_key"):
    # Browsers send the Referer on same-origin posts (SECURE_REFERRER_POLICY is same-origin).
    return client.post(reverse("credentials:reveal"), {"path": path}, headers={"referer": f"http://testserver{INDEX}"})


# Listing


def test_anonymous_is_sent_to_login(client, planted):
    """Signed-out visitors are redirected to the sign-in page."""
    response = client.get(INDEX)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_viewer_sees_masked_listing(client, make_user, planted):
    """source.view lists every source and key masked, without reveal or change controls."""
    login(client, make_user, "viewer")
    response = client.get(INDEX)
    assert response.status_code == 200
    text = response.content.decode()
    assert "sources.stripe" in text
    assert "destination.postgres" in text
    assert "••••a1b2" in text
    assert "••••c3d4" in text
    assert "Reveal" not in text
    assert "Set a value" not in text
    assert_no_canary(response)
    assert "no-store" in response["Cache-Control"]


def test_nav_link_for_source_viewers(client, make_user):
    """The site navigation links to the Credentials page for users with source.view."""
    login(client, make_user, "viewer")
    response = client.get(reverse("home"))
    assert f'href="{INDEX}"' in response.content.decode()


def test_malformed_file_shown_not_crashed(client, make_user, store):
    """A file that does not parse is reported on the page with its line; no server error."""
    store.path.parent.mkdir(parents=True)
    store.path.write_text('[sources.stripe]\napi_key = "open\n')
    login(client, make_user, "viewer")
    response = client.get(INDEX)
    assert response.status_code == 200
    assert "line 2, column" in response.content.decode()


# Setting and deleting


@pytest.mark.parametrize("url", ["credentials:set", "credentials:reveal", "credentials:delete"])
def test_viewer_cannot_change_or_reveal(client, make_user, planted, url):
    """Without source.manage or source.view_credentials the actions return 403 and change nothing."""
    login(client, make_user, "viewer")
    before = planted.path.read_bytes()
    response = client.post(reverse(url), {"path": "sources.stripe.api_key", "value": "x" * 20})
    assert response.status_code == 403
    assert planted.path.read_bytes() == before
    assert_no_canary(response)


def test_editor_sets_a_value(client, make_user, planted, sent_signals):
    """source.manage sets a value; secret_set carries the path and actor, never the value."""
    user = login(client, make_user, "editor")
    response = client.post(reverse("credentials:set"), {"path": "sources.hubspot.api_key", "value": "canary-new-hubspot"})
    assert response.status_code == 302
    assert planted.get("sources.hubspot.api_key") == "canary-new-hubspot"
    assert [name for name, _ in sent_signals] == ["secret_set"]
    kwargs = sent_signals[0][1]
    assert kwargs["path"] == "sources.hubspot.api_key"
    assert kwargs["created"] is True
    assert kwargs["actor"] == user
    assert kwargs["request"] is not None
    assert "canary-new-hubspot" not in repr({k: v for k, v in kwargs.items() if k != "request"})
    page = client.get(INDEX)
    assert "canary-new-hubspot" not in page.content.decode()


@pytest.mark.parametrize(
    "path,value,message",
    [
        ("sources..x", "canary-bad-path-value", "is invalid"),
        ("dango.oauth.sheets.access_token", "canary-bad-path-value", "keeps for its own"),
        ("stripe", "canary-bad-path-value", "names no table"),
        ("sources.stripe", "canary-bad-path-value", "is a table"),
        ("sources.stripe.api_key.deeper", "canary-bad-path-value", "is a value"),
        ("sources.stripe.api_key", "", "This field is required"),
        ("x" * 600, "canary-bad-path-value", "at most 500 characters"),
    ],
)
def test_set_rejects_bad_input(client, make_user, planted, sent_signals, path, value, message):
    """Bad paths and empty values get a 400 with the reason, change nothing and never echo the value."""
    login(client, make_user, "editor")
    before = planted.path.read_bytes()
    response = client.post(reverse("credentials:set"), {"path": path, "value": value})
    assert response.status_code == 400
    text = response.content.decode()
    assert message in text
    assert "canary-bad-path-value" not in text
    assert planted.path.read_bytes() == before
    assert sent_signals == []


def test_set_on_malformed_file(client, make_user, store):
    """Setting into a file that does not parse reports the position and leaves the file alone."""
    store.path.parent.mkdir(parents=True)
    broken = b'[sources.stripe]\napi_key = "open\n'
    store.path.write_bytes(broken)
    login(client, make_user, "editor")
    response = client.post(reverse("credentials:set"), {"path": "sources.stripe.x", "value": "value-123456"})
    assert response.status_code == 400
    assert "line 2, column" in response.content.decode()
    assert store.path.read_bytes() == broken


def test_editor_deletes_after_confirming(client, make_user, planted, sent_signals):
    """Delete shows a confirmation page first; the POST removes the key and sends secret_deleted."""
    user = login(client, make_user, "editor")
    page = client.get(reverse("credentials:delete"), {"path": "sources.stripe.api_key"})
    assert page.status_code == 200
    assert "Delete <code>sources.stripe.api_key</code>?" in page.content.decode()
    assert planted.get("sources.stripe.api_key") == CANARY_KEY

    response = client.post(reverse("credentials:delete"), {"path": "sources.stripe.api_key"})
    assert response.status_code == 302
    # The emptied [sources.stripe] header stays in the file.
    assert planted.load()["sources"]["stripe"] == {}
    assert [name for name, _ in sent_signals] == ["secret_deleted"]
    kwargs = sent_signals[0][1]
    assert kwargs["path"] == "sources.stripe.api_key"
    assert kwargs["actor"] == user
    assert kwargs["request"] is not None


@pytest.mark.parametrize("query", [{}, {"path": "sources.nothing.here"}, {"path": "'unclosed"}])
def test_delete_bad_path(client, make_user, planted, query):
    """Deleting a missing or unreadable path returns 400 with the reason."""
    login(client, make_user, "editor")
    response = client.get(reverse("credentials:delete"), query)
    assert response.status_code == 400
    response = client.post(reverse("credentials:delete"), query)
    assert response.status_code == 400


def test_editor_cannot_reveal(client, make_user, planted):
    """source.manage alone does not allow revealing."""
    login(client, make_user, "editor")
    response = client.post(reverse("credentials:reveal"), {"path": "sources.stripe.api_key"})
    assert response.status_code == 403
    assert_no_canary(response)


# Revealing


def test_reveal_needs_reauthentication(client, admin_login, planted, sent_signals):
    """An Admin is first sent to re-authenticate; nothing is revealed or announced before."""
    admin_login(client)
    response = reveal(client)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('reauthenticate')}?next=http%3A%2F%2Ftestserver%2Fcredentials%2F"
    assert sent_signals == []
    assert REAUTHENTICATED_AT_KEY not in client.session
    assert_no_canary(response)


def test_reveal_after_reauthentication(client, admin_login, planted, sent_signals):
    """After re-authenticating, the value is shown once, uncached, and secret_revealed names path and actor."""
    user = admin_login(client)
    response = confirm_with_code(client, user)
    assert response.status_code == 302
    assert response["Location"] == INDEX

    response = reveal(client)
    assert response.status_code == 200
    assert CANARY_KEY in response.content.decode()
    assert CANARY_PASSWORD not in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert [name for name, _ in sent_signals] == ["secret_revealed"]
    kwargs = sent_signals[0][1]
    assert kwargs["path"] == "sources.stripe.api_key"
    assert kwargs["actor"] == user
    assert CANARY_KEY not in repr(kwargs["path"])

    assert_no_canary(client.get(INDEX))


def test_reauthentication_expires(client, admin_login, planted, settings):
    """A re-authentication older than DANGO_REAUTH_TIMEOUT no longer allows revealing."""
    settings.DANGO_REAUTH_TIMEOUT = 300
    user = admin_login(client)
    with time_machine.travel("2025-05-01 10:00:00+00:00", tick=False) as clock:
        assert confirm_with_code(client, user).status_code == 302
        clock.shift(timedelta(seconds=299))
        assert reveal(client).status_code == 200
        clock.shift(timedelta(seconds=2))
        response = reveal(client)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("reauthenticate"))
        assert_no_canary(response)


def test_wrong_password_and_lockout(client, admin_login, planted, settings):
    """Wrong passwords count toward the sign-in lockout; once locked, even the right one is rejected."""
    settings.AXES_FAILURE_LIMIT = 3
    user = admin_login(client)
    with time_machine.travel("2025-05-01 10:00:00+00:00", tick=False):
        for _ in range(2):
            response = confirm_with_code(client, user, password="wrong-password")
            assert response.status_code == 200
            assert "The password is not correct" in response.content.decode()
        locking = confirm_with_code(client, user, password="wrong-password")
        assert AccessAttempt.objects.get(username=user.email).failures_since_start == 3
        response = confirm_with_code(client, user)
    assert locking.status_code == 429
    assert response.status_code == 429
    assert "paused after too many failed attempts" in response.content.decode()
    assert REAUTHENTICATED_AT_KEY not in client.session
    assert reveal(client).status_code == 302


def test_two_factor_users_confirm_with_a_code(client, admin_login, planted):
    """A user with a confirmed TOTP device needs password and a current code."""
    user = admin_login(client)

    with time_machine.travel("2025-05-01 10:00:00+00:00", tick=False) as clock:
        response = confirm(client)
        assert response.status_code == 200
        assert "This field is required" in response.content.decode()
        wrong_code = f"{(int(current_code(user.device)) + 1) % 10**6:06d}"
        response = confirm(client, code=wrong_code)
        assert response.status_code == 200
        assert "That code is not valid" in response.content.decode()
        assert reveal(client).status_code == 302

        # django-otp rejects codes for a moment after a failure.
        clock.shift(timedelta(seconds=40))
        response = confirm_with_code(client, user)
        assert response.status_code == 302
        assert reveal(client).status_code == 200


def test_social_only_user_confirms_with_code(client, admin_login, planted):
    """A user without a usable password and with 2FA re-authenticates with the code alone."""
    user = admin_login(client, email="social@example.com", password=None)
    page = client.get(reverse("reauthenticate"), {"next": INDEX})
    assert page.status_code == 200
    assert 'name="password"' not in page.content.decode()
    assert 'name="code"' in page.content.decode()
    with time_machine.travel("2025-05-01 10:00:00+00:00", tick=False):
        response = client.post(reverse("reauthenticate"), {"code": current_code(user.device), "next": INDEX})
        assert response["Location"] == INDEX
        assert reveal(client).status_code == 200


def test_social_only_user_without_2fa_cannot_confirm(client, make_user, planted, settings):
    """A user with neither a password nor 2FA is told to set a password; nothing is revealed."""
    settings.DANGO_2FA_REQUIRED_FOR_ADMINS = False
    user = make_user("social@example.com", password=None, role="admin")
    client.force_login(user)
    response = client.post(reverse("reauthenticate"), {"password": "", "next": INDEX})
    assert response.status_code == 200
    assert "Set a password first" in response.content.decode()
    assert REAUTHENTICATED_AT_KEY not in client.session
    response = reveal(client)
    assert response.status_code == 302
    assert_no_canary(response)


def test_confirm_ignores_foreign_next(client, admin_login):
    """A next URL on another host is dropped in favour of the account page."""
    user = admin_login(client)
    response = client.post(
        reverse("reauthenticate"),
        {"password": PASSWORD, "code": current_code(user.device), "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("account")


def test_reveal_of_missing_or_table(client, admin_login, planted):
    """Revealing a missing path or a table returns 400 with the reason."""
    user = admin_login(client)
    assert confirm_with_code(client, user).status_code == 302
    response = reveal(client, "sources.nothing.here")
    assert response.status_code == 400
    assert "No value is stored at sources.nothing.here" in response.content.decode()
    response = reveal(client, "sources.stripe")
    assert response.status_code == 400
    assert_no_canary(response)


def test_old_confirmation_page_is_gone(client, admin_login):
    """The Credentials app has no confirmation page of its own any more."""
    admin_login(client)
    assert client.get("/credentials/confirm/").status_code == 404


# Health, OAuth and the admin


def test_health_page(client, make_user, planted):
    """The health page shows modes and sources; a loose file mode is listed as a problem."""
    planted.path.chmod(0o644)
    login(client, make_user, "viewer")
    response = client.get(reverse("credentials:health"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "0644" in text
    assert "chmod 600" in text
    assert "sources.stripe" in text
    assert_no_canary(response)


def test_disconnect_from_the_page(client, make_user, store, settings, sent_signals):
    """source.manage disconnects a Google source: revoked at the fake Google, removed from the file."""
    google = FakeGoogle().start()
    settings.CREDENTIALS_GOOGLE_REVOKE_URL = google.revoke_url
    try:
        store_google_token("sheets", client_id="id", client_secret="canary-secret-1", refresh_token="canary-refresh-1")
        login(client, make_user, "editor")
        page = client.get(INDEX)
        assert "Google connections" in page.content.decode()
        assert "canary-refresh-1" not in page.content.decode()
        response = client.post(reverse("credentials:disconnect", args=["sheets"]))
    finally:
        google.stop()
    assert response.status_code == 302
    assert google.requests_to("/revoke")[0].form == {"token": "canary-refresh-1"}
    assert "refresh_token" not in store.load()["sources"]["sheets"]["credentials"]
    assert sent_signals[-1][0] == "oauth_token_revoked"


def test_disconnect_unknown_source(client, make_user, store):
    """Disconnecting a source that is not connected shows the reason instead of failing."""
    login(client, make_user, "editor")
    response = client.post(reverse("credentials:disconnect", args=["nothing"]), follow=True)
    assert response.status_code == 200
    assert "not connected" in response.content.decode()


def test_admin_lists_masked(admin_client, planted):
    """The Django admin lists sources and keys masked, and the admin index links there."""
    index = admin_client.get(reverse("admin:index"))
    assert "Stored secrets" in index.content.decode()
    response = admin_client.get(reverse("admin:credentials_storedsecret_changelist"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "sources.stripe" in text
    assert "api_key" in text
    assert "••••a1b2" in text
    assert_no_canary(response)
    assert_no_canary(index)


def test_admin_has_no_change_views(admin_client, planted):
    """The admin entry offers no add, change or delete pages."""
    assert admin_client.get("/admin/credentials/storedsecret/add/").status_code == 404
