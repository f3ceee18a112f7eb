"""next= targets after sign-in: only paths on this site are followed."""

import pytest

from accounts.redirects import is_site_path, safe_next_url


@pytest.mark.parametrize(
    "url,expected",
    [
        ("/", True),
        ("/account/?tab=sessions", True),
        ("/invite/accept/", True),
        ("", False),
        (None, False),
        ("account/", False),
        ("//evil.example/", False),
        ("/\\evil.example", False),
        ("\\\\evil.example", False),
        ("https://evil.example/", False),
        ("http://testserver/account/", False),
        ("javascript:alert(1)", False),
        ("\x01/evil", False),
    ],
)
def test_is_site_path(url, expected):
    """Relative paths starting with one slash are this site's; everything else is not."""
    assert is_site_path(url) is expected


def test_safe_next_url_falls_back_to_home(db):
    """An unsafe target is replaced by the home page."""
    assert safe_next_url("https://evil.example/") == "/"
    assert safe_next_url("/account/") == "/account/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "next_url,expected",
    [("/account/", "/account/"), ("https://evil.example/", "/"), ("//evil.example/", "/"),
     ("http://testserver/account/", "/")],
)
def test_password_sign_in_next(client, make_user, next_url, expected):
    """After a password sign-in, next= is followed only when it is a path on this site."""
    make_user("alice@example.com", "Correct-Horse-42")

    response = client.post(
        "/accounts/login/", {"login": "alice@example.com", "password": "Correct-Horse-42", "next": next_url}
    )

    assert response.status_code == 302
    assert response["Location"] == expected
