"""Each audit-relevant moment sends its signal exactly once, and sends nothing else watched."""

from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import User, UserSession
from rbac.roles import Role
from tests.accounts.helpers import PASSWORD, record_signals, sign_in

pytestmark = pytest.mark.django_db

START = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def alice(admin_user, make_user):
    return make_user("alice@example.com", role="viewer")


def test_login(alice):
    """A sign-in sends one login signal with the user and request, and nothing else watched."""
    with record_signals() as log:
        sign_in(Client(REMOTE_ADDR="192.0.2.10"), "Alice@Example.com")
    assert log.names() == ["login"]
    event = log.only("login")
    assert event["user"] == alice
    assert event["request"].META["REMOTE_ADDR"] == "192.0.2.10"


@pytest.mark.parametrize("email", ["alice@example.com", "nobody@example.com"], ids=["known", "unknown"])
def test_login_failure(alice, email):
    """A failed sign-in sends one login_failed, whether or not the email exists, without the password."""
    with record_signals() as log:
        sign_in(Client(), email, "Wrong-Horse-42")
    assert log.names() == ["login_failed"]
    assert "Wrong-Horse-42" not in str(log.only("login_failed")["credentials"])


def test_logout(alice):
    """Signing out sends one logout signal."""
    client = Client()
    sign_in(client, alice.email)
    with record_signals() as log:
        client.post(reverse("account_logout"))
    assert log.names() == ["logout"]
    assert log.only("logout")["user"] == alice


@pytest.mark.parametrize("minutes,reason", [(61, "idle"), (60 * 24 * 31, "absolute")])
def test_session_expired(alice, settings, minutes, reason):
    """An expiry sends one session_expired with its reason and no logout."""
    settings.DANGO_SESSION_IDLE_TIMEOUT = 3600 if reason == "idle" else 0
    settings.DANGO_SESSION_ABSOLUTE_TIMEOUT = 3600 * 24 * 30 if reason == "absolute" else 3600 * 24 * 365
    with time_machine.travel(START, tick=False) as clock:
        client = Client()
        sign_in(client, alice.email)
        if reason == "absolute":
            clock.move_to(START + timedelta(days=29))
            client.get("/")
        clock.move_to(START + timedelta(minutes=minutes))
        with record_signals() as log:
            client.get("/")
            client.get("/")
    assert log.names() == ["session_expired"]
    assert log.only("session_expired")["reason"] == reason


def test_session_revoked(alice):
    """Signing out another session sends one session_revoked for it."""
    laptop, phone = Client(), Client()
    sign_in(laptop, alice.email)
    sign_in(phone, alice.email)
    row = UserSession.objects.exclude(session_key=laptop.session.session_key).get(user=alice)
    with record_signals() as log:
        laptop.post(reverse("revoke_session", args=[row.pk]))
    assert log.names() == ["session_revoked"]
    assert log.only("session_revoked")["reason"] == "revoked"


def test_password_changed(alice):
    """A password change with no other session sends one password_changed and nothing else watched."""
    client = Client()
    sign_in(client, alice.email)
    new = "Quiet-Meadow-Lantern-7"
    with record_signals() as log:
        client.post(reverse("account_change_password"), {"oldpassword": PASSWORD, "password1": new, "password2": new})
    assert log.names() == ["password_changed"]
    assert log.only("password_changed")["user"] == alice


def test_role_changed(admin_client, admin_user, alice):
    """A role change in the admin sends one role_changed with old role, new role, actor and request."""
    with record_signals() as log:
        admin_client.post(
            f"/admin/accounts/user/{alice.pk}/change/",
            {"email": alice.email, "role": "editor", "is_active": "on"},
        )
    assert log.names() == ["role_changed"]
    event = log.only("role_changed")
    assert (event["old_role"], event["new_role"], event["actor"]) == (Role.VIEWER, Role.EDITOR, admin_user)
    assert event["request"] is not None


def test_user_created(admin_user):
    """Creating a user sends user_created once and role_changed once for the first role."""
    with record_signals() as log:
        user = User.objects.create_user("new@example.com", "Quiet-Meadow-Lantern-7", role="editor")
    assert log.names() == ["user_created", "role_changed"]
    assert log.only("user_created")["user"] == user
    assert log.only("role_changed")["old_role"] is None


def test_user_deactivated_and_reactivated(alice):
    """Deactivation and reactivation each send their signal once; saving again sends nothing."""
    with record_signals() as log:
        alice.is_active = False
        alice.save()
        alice.save()
    assert log.names() == ["user_deactivated"]
    with record_signals() as log:
        alice.is_active = True
        alice.save()
        alice.full_name = "Alice"
        alice.save()
    assert log.names() == ["user_reactivated"]


def test_deactivation_ends_sessions_with_signals(alice):
    """Deactivating a signed-in user sends user_deactivated and one session_revoked per session."""
    for _ in range(2):
        sign_in(Client(), alice.email)
    with record_signals() as log:
        alice.is_active = False
        alice.save()
    assert log.count("user_deactivated") == 1
    assert log.count("session_revoked") == 2


def test_user_deleted(alice):
    """Deleting a user sends user_deleted once with the id and email of the removed row."""
    user_id = alice.pk
    with record_signals() as log:
        alice.delete()
    assert log.names() == ["user_deleted"]
    assert log.only("user_deleted") == {"user_id": user_id, "email": "alice@example.com"}


@pytest.mark.urls("tests.rbac.urls")
def test_permission_denied(client, alice):
    """Each refused request sends one permission_denied naming the missing permission."""
    client.force_login(alice)
    with record_signals() as log:
        client.get("/guarded/audit/")
        client.get("/guarded/audit/", HTTP_ACCEPT="application/json")
    assert log.names() == ["permission_denied", "permission_denied"]
    assert [kwargs["permission"] for _, kwargs in log.events] == ["audit.view", "audit.view"]
