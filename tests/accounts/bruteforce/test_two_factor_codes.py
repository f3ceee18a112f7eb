"""Wrong second-factor codes count into the same (email, IP) pair as wrong passwords."""

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.bruteforce import gate
from accounts.twofactor import devices
from tests.accounts.bruteforce.conftest import PASSWORD, sign_in
from tests.accounts.two_factor.conftest import EPOCH, KEY_HEX, totp_code

pytestmark = pytest.mark.django_db

OWNER_IP = "203.0.113.5"
STRANGER_IP = "198.51.100.66"
WRONG_CODE = "000000"
# After n wrong codes django-otp 1.7 rejects every code to the device unchecked
# for 2^(n-1) seconds (throttle factor 1). The clock moves on by more than any
# such wait here before each code, so every wrong code is checked and counted.
THROTTLE_WAIT = 2**5


@pytest.fixture
def clock():
    with time_machine.travel(EPOCH, tick=False) as traveller:
        yield traveller


@pytest.fixture
def alice(make_user):
    user = make_user("alice@example.com")
    devices.enable(user, KEY_HEX, confirmed_step=-1)
    return user


def submit_code(client, code: str, ip: str = STRANGER_IP):
    return client.post(reverse("two_factor_challenge"), {"code": code}, REMOTE_ADDR=ip)


def submit_wrong_codes(client, clock, count: int) -> list:
    responses = []
    for _ in range(count):
        clock.shift(THROTTLE_WAIT)
        responses.append(submit_code(client, WRONG_CODE))
    return responses


def test_password_and_code_failures_lock_pair(clock, client, alice, audit_log):
    """Two wrong passwords and three wrong codes lock the pair of the email typed at the password step."""
    statuses = [sign_in(client, "Alice@Example.COM", f"wrong-{i}", ip=STRANGER_IP).status_code for i in range(2)]
    assert statuses == [200, 200]
    password_step = sign_in(client, "Alice@Example.COM", PASSWORD, ip=STRANGER_IP)
    assert password_step["Location"] == reverse("two_factor_challenge")

    responses = submit_wrong_codes(client, clock, 3)

    assert [response.status_code for response in responses] == [200, 200, 429]
    assert responses[2]["Retry-After"] == "900"
    assert "_auth_user_id" not in client.session
    assert gate.get_failures("alice@example.com", STRANGER_IP) == 5
    assert gate.is_locked("alice@example.com", STRANGER_IP)
    assert audit_log.events().count("login_failure") == 2
    assert audit_log.events().count("two_fa_failure") == 3
    [locked] = audit_log.records("account_locked")
    assert locked["target"]["email"] == "alice@example.com"
    assert locked["ip"] == STRANGER_IP


def test_code_failures_alone_lock_pair(clock, client, alice, audit_log):
    """Five wrong codes after a right password lock the pair, like five wrong passwords."""
    sign_in(client, "alice@example.com", PASSWORD, ip=STRANGER_IP)

    responses = submit_wrong_codes(client, clock, 5)

    assert [response.status_code for response in responses] == [200, 200, 200, 200, 429]
    assert gate.get_failures("alice@example.com", STRANGER_IP) == 5
    assert gate.is_locked("alice@example.com", STRANGER_IP)
    assert len(audit_log.records("account_locked")) == 1


def test_locked_pair_blocks_both_steps(clock, client, alice, audit_log):
    """Once locked, the right password from that IP is rejected, but another IP still reaches the code step."""
    for i in range(4):
        sign_in(client, "alice@example.com", f"wrong-{i}", ip=STRANGER_IP)
    sign_in(client, "alice@example.com", PASSWORD, ip=STRANGER_IP)
    assert submit_wrong_codes(client, clock, 1)[0].status_code == 429

    locked = sign_in(Client(), "alice@example.com", PASSWORD, ip=STRANGER_IP)
    elsewhere = sign_in(Client(), "alice@example.com", PASSWORD, ip=OWNER_IP)

    assert locked.status_code == 429
    assert elsewhere.status_code == 302
    assert elsewhere["Location"] == reverse("two_factor_challenge")
    assert gate.get_counter("alice@example.com", OWNER_IP) is None


def test_code_during_lockout_not_counted(clock, client, alice, audit_log):
    """A pending sign-in whose pair locks meanwhile gets 429 for the right code, and nothing more is counted."""
    sign_in(client, "alice@example.com", PASSWORD, ip=STRANGER_IP)
    for i in range(5):
        sign_in(Client(), "alice@example.com", f"wrong-{i}", ip=STRANGER_IP)
    clock.shift(THROTTLE_WAIT)

    response = submit_code(client, totp_code(EPOCH + THROTTLE_WAIT))

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert gate.get_failures("alice@example.com", STRANGER_IP) == 5
    assert audit_log.records("two_fa_failure") == []
    assert len(audit_log.records("account_locked")) == 1


def test_right_password_keeps_earlier_failures(clock, client, alice):
    """The password step alone clears no failures, and its check leaves no reserved place once its request ends."""
    for i in range(4):
        sign_in(client, "alice@example.com", f"wrong-{i}", ip=STRANGER_IP)

    response = sign_in(client, "alice@example.com", PASSWORD, ip=STRANGER_IP)

    assert response["Location"] == reverse("two_factor_challenge")
    counter = gate.get_counter("alice@example.com", STRANGER_IP)
    assert counter.failures == 4
    assert counter.pending == 0
    assert counter.locked_until is None


def test_right_code_clears_pair(clock, client, alice):
    """A sign-in completed by the right code clears the pair's password and code failures."""
    for i in range(3):
        sign_in(client, "Alice@Example.com", f"wrong-{i}", ip=STRANGER_IP)
    sign_in(client, "Alice@Example.com", PASSWORD, ip=STRANGER_IP)
    submit_wrong_codes(client, clock, 1)
    assert gate.get_failures("alice@example.com", STRANGER_IP) == 4
    clock.shift(THROTTLE_WAIT)

    response = submit_code(client, totp_code(EPOCH + 2 * THROTTLE_WAIT))

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)
    assert gate.get_counter("alice@example.com", STRANGER_IP) is None
