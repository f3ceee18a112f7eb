from io import StringIO

import pytest
from axes.models import AccessAttempt
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.bruteforce import gate
from tests.accounts.bruteforce.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.django_db

IP_A = "203.0.113.60"
IP_B = "203.0.113.61"
CHANGELIST = "/admin/accounts/user/"


def fail(email, count, ip):
    client = Client()
    for i in range(count):
        sign_in(client, email, f"wrong-{i}", ip=ip)


def run_unlock(*args) -> str:
    out = StringIO()
    call_command("users", "unlock", *args, stdout=out)
    return out.getvalue()


def test_command_unlocks_every_ip(make_user, audit_log):
    """users unlock EMAIL clears the email's failures from every IP and lets it sign in again."""
    make_user("alice@example.com")
    fail("alice@example.com", 5, IP_A)
    fail("alice@example.com", 2, IP_B)

    output = run_unlock("Alice@Example.com")

    assert "Unlocked alice@example.com: cleared 7 failed sign-in(s) from 2 IP address(es), 1 of them locked." in output
    assert gate.get_counter("alice@example.com", IP_A) is None
    assert gate.get_counter("alice@example.com", IP_B) is None
    assert not AccessAttempt.objects.filter(username="alice@example.com").exists()
    assert sign_in(Client(), "alice@example.com", PASSWORD, ip=IP_A).status_code == 302


def test_command_unlock_is_audited_once(make_user, audit_log):
    """One unlock makes one account_unlocked record, with no actor from the command line."""
    make_user("alice@example.com")
    fail("alice@example.com", 5, IP_A)
    fail("alice@example.com", 5, IP_B)
    run_unlock("alice@example.com")
    records = audit_log.records("account_unlocked")
    assert len(records) == 1
    assert records[0]["actor"] is None
    assert records[0]["target"]["email"] == "alice@example.com"
    assert records[0]["details"] == {"ip_address": None}


def test_command_unlocks_one_ip(make_user, audit_log):
    """With --ip, only that address's failures are cleared."""
    make_user("alice@example.com")
    fail("alice@example.com", 5, IP_A)
    fail("alice@example.com", 5, IP_B)

    output = run_unlock("alice@example.com", "--ip", IP_A)

    assert f"Unlocked alice@example.com from {IP_A}" in output
    assert not gate.is_locked("alice@example.com", IP_A)
    assert gate.is_locked("alice@example.com", IP_B)
    assert AccessAttempt.objects.filter(username="alice@example.com", ip_address=IP_B).exists()
    assert audit_log.records("account_unlocked")[0]["details"] == {"ip_address": IP_A}


def test_command_unlocks_unknown_email(audit_log):
    """A lockout of an email that no account has can be cleared too."""
    fail("nobody@example.com", 5, IP_A)
    run_unlock("nobody@example.com")
    assert not gate.is_locked("nobody@example.com", IP_A)
    assert len(audit_log.records("account_unlocked")) == 1


def test_command_rejects_invalid_ip(make_user, audit_log):
    """An --ip that is not an address is an error naming it, and nothing is cleared."""
    make_user("alice@example.com")
    fail("alice@example.com", 5, IP_A)
    with pytest.raises(CommandError, match="'300.1.2.3' is not an IP address"):
        run_unlock("alice@example.com", "--ip", "300.1.2.3")
    assert gate.is_locked("alice@example.com", IP_A)
    assert audit_log.records("account_unlocked") == []


def test_command_reports_nothing_to_unlock(audit_log):
    """Unlocking an email without failures is an error and records nothing."""
    with pytest.raises(CommandError, match="No failed sign-ins are recorded for 'alice@example.com'"):
        run_unlock("alice@example.com")
    assert audit_log.records("account_unlocked") == []


def test_command_rejects_empty_email():
    """An empty email is an error."""
    with pytest.raises(CommandError, match="The email address is empty"):
        run_unlock("  ")


def test_admin_action_unlocks_selected(admin_client, admin_user, make_user, audit_log):
    """The admin action clears the selected users' failures and records who did it, once per user."""
    alice = make_user("alice@example.com")
    bob = make_user("bob@example.com")
    fail("alice@example.com", 5, IP_A)

    response = admin_client.post(
        CHANGELIST, {"action": "unlock_users", "_selected_action": [alice.pk, bob.pk]}, follow=True
    )

    assert response.status_code == 200
    messages = [str(message) for message in response.context["messages"]]
    assert "Cleared failed sign-ins of 1 user(s)." in messages
    assert "1 user(s) had no failed sign-ins to clear; nothing changed for them." in messages
    assert not gate.is_locked("alice@example.com", IP_A)
    records = audit_log.records("account_unlocked")
    assert len(records) == 1
    assert records[0]["actor"] == {"id": admin_user.pk, "email": "admin@example.com"}
    assert records[0]["target"]["email"] == "alice@example.com"


def test_admin_action_rejects_non_admin(client, make_user):
    """A user without users.manage (any non-Admin) cannot run the unlock action."""
    editor = make_user("editor@example.com", role="editor")
    alice = make_user("alice@example.com")
    fail("alice@example.com", 5, IP_A)
    client.force_login(editor)
    client.post(CHANGELIST, {"action": "unlock_users", "_selected_action": [alice.pk]})
    assert gate.is_locked("alice@example.com", IP_A)
