import re
from pathlib import Path

import pytest

from tests.accounts.bruteforce.counting_hasher import LOG_VARIABLE, password_digest, with_counting_hasher

LOGIN_URL = "/accounts/login/"
ADMIN_LOGIN_URL = "/admin/login/?next=/admin/"
# Where the admin's login page sends a browser: the site sign-in, back to the admin afterwards.
SITE_LOGIN_FOR_ADMIN = "/accounts/login/?next=%2Fadmin%2F"
RESET_URL = "/accounts/password/reset/"
PASSWORD = "Correct-Horse-42"

CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')


class HasherLog:
    """The lines the counting hasher wrote: one per hash computed."""

    def __init__(self, path: Path):
        self.path = path

    def lines(self) -> list[str]:
        return self.path.read_text().splitlines() if self.path.exists() else []

    def count(self) -> int:
        return len(self.lines())

    def count_password(self, password: str) -> int:
        return self.lines().count(password_digest(password))

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


@pytest.fixture
def hasher_log(tmp_path, settings, monkeypatch) -> HasherLog:
    """Hash passwords with the counting hasher for this test and return its log."""
    path = tmp_path / "hasher.log"
    monkeypatch.setenv(LOG_VARIABLE, str(path))
    settings.PASSWORD_HASHERS = with_counting_hasher(settings.PASSWORD_HASHERS)
    return HasherLog(path)


def sign_in(client, email: str, password: str, ip: str = "203.0.113.10", **headers):
    """POST the allauth sign-in form from client IP ``ip``."""
    return client.post(LOGIN_URL, {"login": email, "password": password}, REMOTE_ADDR=ip, **headers)


def admin_sign_in(client, email: str, password: str, ip: str = "203.0.113.10"):
    """Sign in to the Django admin from client IP ``ip`` as a browser does; return the sign-in response.

    The admin's login page checks no password. It redirects to the site
    sign-in with ``next`` pointing back into the admin, and the credentials
    are posted there.
    """
    redirect = client.get(ADMIN_LOGIN_URL, REMOTE_ADDR=ip)
    assert redirect.status_code == 302
    assert redirect["Location"] == SITE_LOGIN_FOR_ADMIN
    return client.post(redirect["Location"], {"login": email, "password": password}, REMOTE_ADDR=ip)


# Headers whose value is fresh for every response whatever the request.
PER_RESPONSE_HEADERS = {"x-request-id"}


def comparable(response) -> dict:
    """Return what a client sees of ``response``, minus per-response values.

    Cookie values, the CSRF token and the request id differ between any two
    responses; everything else must be equal for responses that may not reveal
    whether an email exists. Freeze the clock, as Expires is the current time.
    """
    headers = {
        name: "<masked>" if name.lower() in PER_RESPONSE_HEADERS else value
        for name, value in response.headers.items()
        if name.lower() != "set-cookie"
    }
    return {
        "status": response.status_code,
        "headers": headers,
        "cookies": sorted(response.cookies.keys()),
        "body": CSRF_INPUT.sub(b'name="csrfmiddlewaretoken" value="<masked>"', response.content),
    }
