import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from accounts.models import User, UserSession
from tests.accounts.helpers import PASSWORD, is_signed_in, record_signals, sign_in

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Quiet-Meadow-Lantern-7"


@pytest.fixture
def alice(make_user):
    make_user("admin@example.com", role="admin")
    return make_user("alice@example.com", role="editor")


def signed_in_client(email="alice@example.com", user_agent="Browser", ip="198.51.100.1"):
    client = Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)
    assert sign_in(client, email).status_code == 302
    return client


def change_password(client, old=PASSWORD, new=NEW_PASSWORD):
    return client.post(
        reverse("account_change_password"), {"oldpassword": old, "password1": new, "password2": new}
    )


def test_password_change_signs_out_other_sessions(alice):
    """Changing the password ends every other session of the user and keeps the current one."""
    laptop = signed_in_client(user_agent="Laptop")
    phone = signed_in_client(user_agent="Phone")
    tablet = signed_in_client(user_agent="Tablet")
    phone_key = phone.session.session_key

    response = change_password(laptop)
    assert response.status_code == 302

    assert is_signed_in(laptop)
    assert not is_signed_in(phone)
    assert not is_signed_in(tablet)
    assert not Session.objects.filter(session_key=phone_key).exists()


def test_current_session_stays_listed_after_change(alice):
    """The session that changed the password stays active on the account page, under its new key."""
    laptop = signed_in_client(user_agent="Laptop")
    signed_in_client(user_agent="Phone")
    change_password(laptop)

    active = list(UserSession.objects.filter(user=alice, ended_at=None))
    assert [row.user_agent for row in active] == ["Laptop"]
    assert active[0].session_key == laptop.session.session_key
    ended = UserSession.objects.get(user=alice, user_agent="Phone")
    assert ended.end_reason == "password_changed"


def test_password_change_signals(alice):
    """A change sends password_changed once and session_revoked once per other session."""
    laptop = signed_in_client(user_agent="Laptop")
    signed_in_client(user_agent="Phone")
    with record_signals() as log:
        change_password(laptop)
    assert log.only("password_changed")["reason"] == "self"
    revoked = log.only("session_revoked")
    assert revoked["reason"] == "password_changed"
    assert revoked["session"].user_agent == "Phone"
    assert log.count("logout") == 0


def test_second_change_keeps_current_session(alice):
    """Two changes in a row from one session keep that session signed in both times."""
    laptop = signed_in_client(user_agent="Laptop")
    change_password(laptop)
    with record_signals() as log:
        response = change_password(laptop, old=NEW_PASSWORD, new="Another-Quiet-Meadow-8")
    assert response.status_code == 302
    assert log.count("session_revoked") == 0
    assert is_signed_in(laptop)


def test_new_password_works_and_old_does_not(alice):
    """After a change only the new password signs in."""
    change_password(signed_in_client())
    assert sign_in(Client(), "alice@example.com", PASSWORD).status_code == 200
    assert sign_in(Client(), "alice@example.com", NEW_PASSWORD).status_code == 302


def test_wrong_old_password_changes_nothing(alice):
    """A wrong current password is a form error; the password and other sessions stay."""
    laptop = signed_in_client(user_agent="Laptop")
    phone = signed_in_client(user_agent="Phone")
    response = change_password(laptop, old="Not-My-Password-1")
    assert response.status_code == 200
    assert response.context["form"].errors["oldpassword"]
    assert User.objects.get(pk=alice.pk).check_password(PASSWORD)
    assert is_signed_in(phone)


def test_password_changed_at_recorded(alice):
    """A change records when it happened and clears a pending forced change."""
    User.objects.filter(pk=alice.pk).update(must_change_password=True)
    change_password(signed_in_client())
    alice.refresh_from_db()
    assert alice.password_changed_at is not None
    assert not alice.must_change_password
