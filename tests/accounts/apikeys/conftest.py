import pytest
from django.test import Client

from accounts.apikeys.operations import create_api_key

PASSWORD = "Correct-Horse-42"


@pytest.fixture
def make_key(db):
    """Create an API key for a user; returns the CreatedKey (row and raw key)."""

    def make(user, name="script", **kwargs):
        return create_api_key(user, name, **kwargs)

    return make


@pytest.fixture
def bearer():
    def headers(raw: str) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    return headers


@pytest.fixture
def key_client():
    """A client that sends no cookies of its own, as a script would."""
    return Client()


@pytest.fixture
def csrf_client():
    """A browser-like client: Django's CSRF checks are enforced."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def editor(make_user):
    return make_user("editor@example.com", role="editor")


@pytest.fixture
def viewer(make_user):
    return make_user("viewer@example.com", role="viewer")
