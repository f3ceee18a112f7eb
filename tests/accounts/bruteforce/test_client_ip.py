import pytest
from axes.models import AccessAttempt
from django.test import Client

from accounts.bruteforce import gate
from tests.accounts.bruteforce.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.django_db

# Neither address is a configured proxy, so headers they send carry no weight.
ATTACKER_IP = "198.51.100.7"
OWNER_IP = "203.0.113.5"


def test_forged_forwarded_for_cannot_dodge_lockout(make_user, audit_log):
    """A new forged X-Forwarded-For or CF-Connecting-IP on each try still counts for the peer's address."""
    make_user("alice@example.com")
    client = Client()
    statuses = []
    for i in range(7):
        response = sign_in(
            client,
            "alice@example.com",
            f"wrong-{i}",
            ip=ATTACKER_IP,
            HTTP_X_FORWARDED_FOR=f"192.0.2.{i + 1}",
            HTTP_CF_CONNECTING_IP=f"192.0.2.{i + 100}",
        )
        statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 200, 429, 429, 429]
    assert gate.get_failures("alice@example.com", ATTACKER_IP) == 5
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER_IP}
    assert {record["ip"] for record in audit_log.records("login_failure")} == {ATTACKER_IP}


def test_forged_header_cannot_lock_owner_address(make_user):
    """Forging the owner's address in X-Forwarded-For locks only the forger's own pair."""
    make_user("alice@example.com")
    attacker = Client()
    for i in range(6):
        sign_in(attacker, "alice@example.com", f"wrong-{i}", ip=ATTACKER_IP, HTTP_X_FORWARDED_FOR=OWNER_IP)
    assert not gate.is_locked("alice@example.com", OWNER_IP)
    assert sign_in(Client(), "alice@example.com", PASSWORD, ip=OWNER_IP).status_code == 302


def test_forged_header_cannot_reset_lockout(make_user):
    """A header naming a fresh address does not lift a lockout from the peer's address."""
    make_user("alice@example.com")
    client = Client()
    for i in range(5):
        sign_in(client, "alice@example.com", f"wrong-{i}", ip=ATTACKER_IP)
    response = sign_in(client, "alice@example.com", PASSWORD, ip=ATTACKER_IP, HTTP_X_FORWARDED_FOR="192.0.2.200")
    assert response.status_code == 429


def test_ipv4_mapped_address_counts_as_ipv4(make_user):
    """The project's client-IP function keys the lockout: ::ffff:a.b.c.d and a.b.c.d are one client."""
    make_user("alice@example.com")
    client = Client()
    statuses = [
        sign_in(client, "alice@example.com", f"wrong-{i}", ip=f"::ffff:{ATTACKER_IP}" if i % 2 else ATTACKER_IP).status_code
        for i in range(5)
    ]
    assert statuses[-1] == 429
    assert gate.get_failures("alice@example.com", ATTACKER_IP) == 5
