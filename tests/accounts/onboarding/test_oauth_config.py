"""Where Google and GitHub sign-in are configured, and what the login page shows."""

import logging
import re

import pytest
from allauth.socialaccount.models import SocialApp
from django.core.exceptions import ImproperlyConfigured

from accounts.oauth import providers
from dango_site import env
from tests.accounts.onboarding.conftest import OAuthFlow, provider_settings
from tests.accounts.onboarding.fake_provider import GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET, Identity

pytestmark = pytest.mark.django_db

SOCIAL_APPS = "/admin/socialaccount/socialapp/"


@pytest.fixture(autouse=True)
def _forget_reported_conflicts():
    providers._reported_shadowed.clear()
    yield
    providers._reported_shadowed.clear()


def login_page(client) -> str:
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    return response.content.decode()


def test_no_buttons_without_configuration(client):
    """Without configured providers the login page offers no OAuth sign-in."""
    page = login_page(client)

    assert 'id="oauth-login"' not in page
    assert "Sign in with Google" not in page


def test_buttons_for_providers_configured_in_settings(client, settings):
    """Each provider configured by environment variables gets a POST button."""
    settings.SOCIALACCOUNT_PROVIDERS = provider_settings(settings.SOCIALACCOUNT_PROVIDERS, ("github",))

    page = login_page(client)

    assert 'id="oauth-github"' in page
    assert 'action="/accounts/github/login/?process=login"' in page
    assert 'id="oauth-google"' not in page


def test_login_page_passes_next_to_provider(client, settings):
    """The provider button carries the login page's next= on to the sign-in."""
    settings.SOCIALACCOUNT_PROVIDERS = provider_settings(settings.SOCIALACCOUNT_PROVIDERS, ("google",))

    page = client.get("/accounts/login/", {"next": "/account/"}).content.decode()

    assert 'action="/accounts/google/login/?process=login&amp;next=%2Faccount%2F"' in page


def test_provider_configured_in_admin_signs_in(client, fake_oauth, make_user):
    """A SocialApp row configures a provider: its button shows and its credentials are used."""
    SocialApp.objects.create(provider="github", name="GitHub", client_id=GITHUB_CLIENT_ID, secret=GITHUB_CLIENT_SECRET)
    alice = make_user("alice@example.com")

    assert 'id="oauth-github"' in login_page(client)
    response = OAuthFlow(client, fake_oauth).sign_in(Identity("github", "31", [("alice@example.com", True, True)]))

    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == alice.pk
    assert fake_oauth.token_requests[0]["client_secret"] == GITHUB_CLIENT_SECRET


def test_provider_in_settings_and_admin_uses_settings(client, settings, fake_oauth, make_user, caplog):
    """A provider configured twice uses the environment and logs the conflict instead of failing."""
    settings.SOCIALACCOUNT_PROVIDERS = provider_settings(settings.SOCIALACCOUNT_PROVIDERS, ("github",))
    SocialApp.objects.create(provider="github", name="Old GitHub", client_id="Iv1.old", secret="old-secret")
    make_user("alice@example.com")

    with caplog.at_level(logging.ERROR, logger="accounts"):
        page = login_page(client)
        response = OAuthFlow(client, fake_oauth).sign_in(Identity("github", "31", [("alice@example.com", True, True)]))

    assert page.count('id="oauth-github"') == 1
    assert response.status_code == 302
    assert fake_oauth.token_requests[0]["client_id"] == GITHUB_CLIENT_ID
    assert "GitHub sign-in is configured more than once" in caplog.text
    assert "old-secret" not in caplog.text


def test_admin_refuses_app_for_provider_in_settings(admin_client, settings):
    """The admin will not add a SocialApp for a provider the environment configures."""
    settings.SOCIALACCOUNT_PROVIDERS = provider_settings(settings.SOCIALACCOUNT_PROVIDERS, ("google",))

    response = admin_client.post(
        f"{SOCIAL_APPS}add/", {"provider": "google", "name": "Google", "client_id": "x", "secret": "y"}
    )

    assert response.status_code == 200
    assert "already configured by the environment variables DANGO_GOOGLE_CLIENT_ID" in response.content.decode()
    assert SocialApp.objects.count() == 0


def test_admin_refuses_second_app_for_provider(admin_client):
    """The admin will not add a second SocialApp for the same provider."""
    SocialApp.objects.create(provider="github", name="GitHub", client_id="a", secret="b")

    response = admin_client.post(
        f"{SOCIAL_APPS}add/", {"provider": "github", "name": "GitHub 2", "client_id": "c", "secret": "d"}
    )

    assert response.status_code == 200
    assert "already configured by the social application" in response.content.decode()
    assert SocialApp.objects.count() == 1


def test_admin_never_shows_the_secret(admin_client):
    """The secret is write-only: the change page does not send it, and an empty field keeps it."""
    admin_client.post(
        f"{SOCIAL_APPS}add/",
        {"provider": "github", "name": "GitHub", "client_id": "Iv1.abc", "secret": "very-secret-value"},
    )
    app = SocialApp.objects.get()

    page = admin_client.get(f"{SOCIAL_APPS}{app.pk}/change/").content.decode()
    assert "very-secret-value" not in page
    assert "very-secret-value" not in admin_client.get(SOCIAL_APPS).content.decode()

    admin_client.post(
        f"{SOCIAL_APPS}{app.pk}/change/", {"provider": "github", "name": "GitHub", "client_id": "Iv1.abc", "secret": ""}
    )
    app.refresh_from_db()
    assert app.secret == "very-secret-value"


def test_admin_add_needs_secret(admin_client):
    """A new SocialApp without a secret is refused."""
    response = admin_client.post(
        f"{SOCIAL_APPS}add/", {"provider": "github", "name": "GitHub", "client_id": "Iv1.abc", "secret": ""}
    )

    assert "Enter the client secret" in response.content.decode()
    assert SocialApp.objects.count() == 0


def test_editor_cannot_manage_providers(client, make_user):
    """Only roles with auth.manage reach the provider admin."""
    client.force_login(make_user("editor@example.com", role="editor"))

    assert client.get(SOCIAL_APPS).status_code == 302


class TestEnvironment:
    def test_client_id_and_secret(self, monkeypatch):
        """Both variables set give allauth's APP entry."""
        monkeypatch.setenv("DANGO_GITHUB_CLIENT_ID", " Iv1.abc ")
        monkeypatch.setenv("DANGO_GITHUB_CLIENT_SECRET", "s3cret")

        assert env.get_oauth_app("github", "GitHub") == {"client_id": "Iv1.abc", "secret": "s3cret"}

    def test_neither_set(self, monkeypatch):
        """No variables leave the provider to the admin."""
        monkeypatch.delenv("DANGO_GOOGLE_CLIENT_ID", raising=False)
        monkeypatch.delenv("DANGO_GOOGLE_CLIENT_SECRET", raising=False)

        assert env.get_oauth_app("google", "Google") is None

    def test_secret_without_id(self, monkeypatch):
        """Only the secret set is a configuration error naming the missing variable."""
        monkeypatch.delenv("DANGO_GOOGLE_CLIENT_ID", raising=False)
        monkeypatch.setenv("DANGO_GOOGLE_CLIENT_SECRET", "s3cret")

        with pytest.raises(ImproperlyConfigured, match="DANGO_GOOGLE_CLIENT_SECRET is set but DANGO_GOOGLE_CLIENT_ID"):
            env.get_oauth_app("google", "Google")

    @pytest.mark.parametrize(
        "value,expected",
        [
            ("https://github.example.com/", "https://github.example.com"),
            ("http://127.0.0.1:9000/google", "http://127.0.0.1:9000/google"),
            ("http://localhost:9000", "http://localhost:9000"),
        ],
    )
    def test_base_url_accepted(self, monkeypatch, value, expected):
        """https URLs and http on loopback hosts are accepted, without a trailing slash."""
        monkeypatch.setenv("DANGO_GITHUB_URL", value)

        assert env.get_base_url("DANGO_GITHUB_URL") == expected

    @pytest.mark.parametrize(
        "value,message",
        [
            ("http://github.example.com", "uses http on a host other than"),
            ("ftp://github.example.com", "is not an http(s) URL"),
            ("github.example.com", "is not an http(s) URL"),
            ("https://github.example.com/?a=1", "must not contain a query"),
        ],
    )
    def test_base_url_refused(self, monkeypatch, value, message):
        """Other URLs are configuration errors."""
        monkeypatch.setenv("DANGO_GITHUB_URL", value)

        with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
            env.get_base_url("DANGO_GITHUB_URL")

    def test_site_url_may_use_http(self, monkeypatch):
        """The site URL may be plain http, for a deployment on a private network."""
        monkeypatch.setenv("DANGO_SITE_URL", "http://dango.internal:8000/")

        assert env.get_base_url("DANGO_SITE_URL", allow_http=True) == "http://dango.internal:8000"
