import re
from datetime import datetime, timezone

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from accounts.models import User, UserSession
from rbac.permissions import PERMISSIONS
from rbac.roles import ROLE_PERMISSIONS, Role
from tests.accounts.helpers import is_signed_in, record_signals, sign_in

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Version/17.5 Mobile/15E148 Safari/604.1"


def browser(email, user_agent, ip):
    client = Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)
    assert sign_in(client, email).status_code == 302
    return client


def session_rows(page: str) -> list[str]:
    table = page.split('id="sessions"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1], re.DOTALL)


@pytest.mark.parametrize("role", list(Role))
def test_home_shows_role_and_permissions(client, make_user, verified_login, role):
    """The home page names the user's role and lists exactly the permissions it grants."""
    verified_login(client, make_user(f"{role.value}@example.com", role=role.value))
    page = client.get(reverse("home")).content.decode()
    assert f"Your role is <strong>{role.label}</strong>" in page
    assert f"It grants {len(ROLE_PERMISSIONS[role])} permissions" in page
    listed = set(re.findall(r"<td><code>([a-z_.]+)</code></td>", page))
    assert listed == set(ROLE_PERMISSIONS[role])
    assert PERMISSIONS["source.view"].description in page


def test_home_requires_sign_in(client):
    """An anonymous visitor to the home page is sent to the login page."""
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_login_page_served(client):
    """The login page has the email and password fields and no sign-up link."""
    page = client.get(reverse("account_login")).content.decode()
    assert 'name="login"' in page
    assert 'name="password"' in page
    assert "signup" not in page


def test_signup_closed(client):
    """Open sign-up is closed: the sign-up page creates no account."""
    response = client.post(
        reverse("account_signup"),
        {"email": "new@example.com", "password1": "Quiet-Meadow-Lantern-7", "password2": "Quiet-Meadow-Lantern-7"},
    )
    assert response.status_code == 200
    assert "closed" in response.content.decode().lower()
    assert not User.objects.filter(email="new@example.com").exists()


def test_account_page_lists_sessions(make_user):
    """The account page lists each active session with browser, IP, sign-in and last-seen times."""
    make_user("alice@example.com")
    with time_machine.travel(datetime(2026, 5, 4, 8, 15, tzinfo=timezone.utc), tick=False):
        browser("alice@example.com", SAFARI, "203.0.113.7")
    with time_machine.travel(datetime(2026, 5, 4, 9, 30, tzinfo=timezone.utc), tick=False):
        laptop = browser("alice@example.com", FIREFOX, "198.51.100.23")
        page = laptop.get(reverse("account")).content.decode()

    rows = session_rows(page)
    assert len(rows) == 2
    current, other = rows
    for text in ("Firefox 128 on Linux", "198.51.100.23", "2026-05-04 09:30 UTC"):
        assert text in current
    assert "this session" in current
    for text in ("Safari 17 on iOS", "203.0.113.7", "2026-05-04 08:15 UTC"):
        assert text in other
    assert "Sign out this one" in other
    assert "Sign out all other sessions" in page


def test_sign_out_this_one(make_user):
    """"Sign out this one" ends that session: its browser is anonymous at its next request."""
    alice = make_user("alice@example.com")
    laptop = browser("alice@example.com", FIREFOX, "198.51.100.23")
    phone = browser("alice@example.com", SAFARI, "203.0.113.7")
    phone_key = phone.session.session_key
    phone_row = UserSession.objects.get(user=alice, user_agent=SAFARI)

    with record_signals() as log:
        response = laptop.post(reverse("revoke_session", args=[phone_row.pk]))
    assert response.status_code == 302
    assert not is_signed_in(phone)
    assert is_signed_in(laptop)
    assert not Session.objects.filter(session_key=phone_key).exists()
    phone_row.refresh_from_db()
    assert phone_row.end_reason == "revoked"
    assert log.only("session_revoked")["session"] == phone_row
    assert len(session_rows(laptop.get(reverse("account")).content.decode())) == 1


def test_sign_out_all_others(make_user):
    """"Sign out all others" ends every session except the current one."""
    make_user("alice@example.com")
    laptop = browser("alice@example.com", FIREFOX, "198.51.100.23")
    others = [browser("alice@example.com", SAFARI, f"203.0.113.{n}") for n in (1, 2, 3)]

    with record_signals() as log:
        response = laptop.post(reverse("revoke_other_sessions"))
    assert response.status_code == 302
    assert log.count("session_revoked") == 3
    assert all(not is_signed_in(other) for other in others)
    assert is_signed_in(laptop)
    assert len(session_rows(laptop.get(reverse("account")).content.decode())) == 1


def test_cannot_revoke_another_users_session(make_user):
    """A session id of another user answers 404 and that session stays signed in."""
    make_user("alice@example.com")
    bob = make_user("bob@example.com")
    alice_client = browser("alice@example.com", FIREFOX, "198.51.100.23")
    bob_client = browser("bob@example.com", SAFARI, "203.0.113.7")
    bob_row = UserSession.objects.get(user=bob)

    with record_signals() as log:
        response = alice_client.post(reverse("revoke_session", args=[bob_row.pk]))
    assert response.status_code == 404
    assert is_signed_in(bob_client)
    assert log.count("session_revoked") == 0


def test_sign_out_all_others_leaves_other_users(make_user):
    """"Sign out all others" touches only the signed-in user's sessions."""
    make_user("alice@example.com")
    make_user("bob@example.com")
    alice_client = browser("alice@example.com", FIREFOX, "198.51.100.23")
    bob_client = browser("bob@example.com", SAFARI, "203.0.113.7")
    alice_client.post(reverse("revoke_other_sessions"))
    assert is_signed_in(bob_client)


def test_revoking_current_session_is_refused(make_user):
    """The current session cannot be revoked from the list; Sign out is the way to end it."""
    alice = make_user("alice@example.com")
    laptop = browser("alice@example.com", FIREFOX, "198.51.100.23")
    row = UserSession.objects.get(user=alice)
    assert laptop.post(reverse("revoke_session", args=[row.pk])).status_code == 404
    assert is_signed_in(laptop)


def test_revoke_requires_post(make_user):
    """A GET to the revoke URL changes nothing."""
    alice = make_user("alice@example.com")
    laptop = browser("alice@example.com", FIREFOX, "198.51.100.23")
    phone = browser("alice@example.com", SAFARI, "203.0.113.7")
    row = UserSession.objects.get(user=alice, user_agent=SAFARI)
    assert laptop.get(reverse("revoke_session", args=[row.pk])).status_code == 405
    assert is_signed_in(phone)


def test_sign_out_ends_session(make_user):
    """Signing out sends one logout signal, ends the row and leaves the browser anonymous."""
    alice = make_user("alice@example.com")
    laptop = browser("alice@example.com", FIREFOX, "198.51.100.23")
    with record_signals() as log:
        response = laptop.post(reverse("account_logout"))
    assert response.status_code == 302
    assert log.count("logout") == 1
    assert not is_signed_in(laptop)
    assert UserSession.objects.get(user=alice).end_reason == "logout"
