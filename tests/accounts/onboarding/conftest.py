import copy
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings as django_settings

from tests.accounts.onboarding import fake_provider


@pytest.fixture(scope="session")
def oauth_server():
    """The fake Google and GitHub on the port tests/settings.py chose."""
    fake, server = fake_provider.start(django_settings.DANGO_TEST_OAUTH_PORT)
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def fake_oauth(oauth_server):
    oauth_server.reset()
    yield oauth_server
    oauth_server.reset()


def provider_settings(providers: dict, configured: tuple[str, ...]) -> dict:
    """Return a copy of SOCIALACCOUNT_PROVIDERS with APP entries for ``configured`` providers."""
    result = copy.deepcopy(providers)
    for provider_id in configured:
        client_id, secret = fake_provider.CLIENTS[provider_id]
        result[provider_id]["APP"] = {"client_id": client_id, "secret": secret}
    return result


@pytest.fixture
def oauth_apps(settings, fake_oauth):
    """Google and GitHub configured from settings, as the environment variables do."""
    settings.SOCIALACCOUNT_PROVIDERS = provider_settings(settings.SOCIALACCOUNT_PROVIDERS, ("google", "github"))
    return fake_oauth


class OAuthFlow:
    """Drive one sign-in: Dango's login view, the provider's authorize page, Dango's callback."""

    def __init__(self, client, fake):
        self.client = client
        self.fake = fake

    def start(self, provider: str, process: str = "login", next_url: str | None = None) -> str:
        query = {"process": process}
        if next_url is not None:
            query["next"] = next_url
        response = self.client.post(f"/accounts/{provider}/login/", query)
        assert response.status_code == 302, response.content
        return response["Location"]

    def authorize(self, authorize_url: str) -> str:
        """Visit the provider's authorize page as the browser would; return Dango's callback URL."""
        response = requests.get(authorize_url, allow_redirects=False, timeout=5)
        assert response.status_code == 302, response.text
        return response.headers["Location"]

    def finish(self, callback_url: str):
        parts = urlsplit(callback_url)
        assert parts.netloc == "testserver", callback_url
        return self.client.get(parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()})

    def sign_in(self, identity, process: str = "login", next_url: str | None = None):
        self.fake.sign_in_as(identity)
        return self.finish(self.authorize(self.start(identity.provider, process, next_url)))


@pytest.fixture
def oauth_flow(client, oauth_apps):
    return OAuthFlow(client, oauth_apps)
