import json
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from axes.models import AccessAttempt
from django.test import Client

from accounts.bruteforce import gate
from tests.accounts.bruteforce.conftest import (
    ADMIN_LOGIN_URL,
    PASSWORD,
    SITE_LOGIN_FOR_ADMIN,
    admin_sign_in,
    sign_in,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
OWNER_IP = "203.0.113.5"
STRANGER_IP = "198.51.100.66"


def fail(client, email, count, ip=STRANGER_IP, start=0):
    return [sign_in(client, email, f"wrong-{start + i}", ip=ip) for i in range(count)]


def test_fifth_failure_locks_pair(client, make_user, audit_log):
    """Four failures get the form again; the fifth locks the pair and gets 429 for 15 minutes."""
    make_user("alice@example.com")
    with time_machine.travel(T0, tick=False):
        responses = fail(client, "alice@example.com", 5)
    assert [r.status_code for r in responses[:4]] == [200, 200, 200, 200]
    assert responses[4].status_code == 429
    assert responses[4]["Retry-After"] == "900"
    assert b"Try again in 15 minutes." in responses[4].content
    assert gate.is_locked("alice@example.com", STRANGER_IP, now=T0)


def test_locked_pair_refuses_correct_password(client, make_user):
    """While locked, even the right password from that IP is rejected and no session is signed in."""
    make_user("alice@example.com")
    fail(client, "alice@example.com", 5)
    response = sign_in(client, "alice@example.com", PASSWORD, ip=STRANGER_IP)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_lockout_is_audited_once(client, make_user, audit_log):
    """A lockout makes one account_locked record, however many attempts follow it."""
    make_user("alice@example.com")
    fail(client, "alice@example.com", 9)
    locked = audit_log.records("account_locked")
    assert len(locked) == 1
    assert locked[0]["target"]["email"] == "alice@example.com"
    assert locked[0]["ip"] == STRANGER_IP
    assert locked[0]["actor"] is None


def test_failure_reasons_in_audit(client, make_user, audit_log):
    """Checked failures are invalid_credentials; attempts refused by the lock are locked."""
    make_user("alice@example.com")
    fail(client, "alice@example.com", 7)
    reasons = [record["details"]["reason"] for record in audit_log.records("login_failure")]
    assert reasons == ["invalid_credentials"] * 5 + ["locked"] * 2


def test_audit_lines_hold_no_password(client, make_user, audit_log):
    """The audit log of failed and locked sign-ins never contains the submitted passwords."""
    make_user("alice@example.com")
    fail(client, "alice@example.com", 6)
    text = audit_log.path.read_text()
    for i in range(6):
        assert f"wrong-{i}" not in text
    assert PASSWORD not in text


def test_mixed_case_emails_share_one_counter(client, make_user):
    """Case and surrounding spaces do not make a new counter."""
    make_user("alice@example.com")
    variants = ["Alice@Example.com", " alice@example.com", "ALICE@EXAMPLE.COM ", "alice@EXAMPLE.com", "aLiCe@example.com"]
    responses = [sign_in(client, email, f"wrong-{i}", ip=STRANGER_IP) for i, email in enumerate(variants)]
    assert responses[-1].status_code == 429
    assert gate.get_failures("alice@example.com", STRANGER_IP) == 5


def test_admin_login_counts_into_same_pair(client, admin_user):
    """Failures on the sign-in form and on sign-ins started from the admin login add up for one pair."""
    fail(client, "Admin@Example.com", 3)
    first = admin_sign_in(client, " ADMIN@example.com", "wrong-a", ip=STRANGER_IP)
    second = admin_sign_in(client, "admin@example.com", "wrong-b", ip=STRANGER_IP)
    assert first.status_code == 200
    assert second.status_code == 429
    assert admin_sign_in(client, "admin@example.com", PASSWORD, ip=STRANGER_IP).status_code == 429
    assert "_auth_user_id" not in client.session
    assert gate.get_failures("admin@example.com", STRANGER_IP) == 5


def test_admin_login_page_checks_no_password(client, admin_user, hasher_log):
    """Credentials posted to the admin's login page are never checked or counted, because it only redirects."""
    for i in range(6):
        response = client.post(ADMIN_LOGIN_URL, {"username": "admin@example.com", "password": f"wrong-{i}"},
                               REMOTE_ADDR=STRANGER_IP)
        assert response.status_code == 302
        assert response["Location"] == SITE_LOGIN_FOR_ADMIN
    response = client.post(ADMIN_LOGIN_URL, {"username": "admin@example.com", "password": PASSWORD},
                           REMOTE_ADDR=STRANGER_IP)
    assert response["Location"] == SITE_LOGIN_FOR_ADMIN
    assert "_auth_user_id" not in client.session
    assert hasher_log.count() == 0
    assert gate.get_counter("admin@example.com", STRANGER_IP) is None
    assert not AccessAttempt.objects.exists()


def test_stranger_cannot_lock_owner_elsewhere(make_user):
    """A lockout from the stranger's IP leaves the owner free to sign in from their own IP."""
    make_user("alice@example.com")
    stranger, owner = Client(), Client()
    fail(stranger, "alice@example.com", 10)
    response = sign_in(owner, "alice@example.com", PASSWORD, ip=OWNER_IP)
    assert response.status_code == 302
    assert owner.session["_auth_user_id"]


def test_success_clears_only_its_pair(make_user):
    """A sign-in clears its own (email, IP) failures; other pairs keep theirs."""
    make_user("alice@example.com")
    make_user("bob@example.com")
    fail(Client(), "alice@example.com", 4, ip=OWNER_IP)
    fail(Client(), "alice@example.com", 3, ip=STRANGER_IP)
    fail(Client(), "bob@example.com", 2, ip=OWNER_IP)

    assert sign_in(Client(), "Alice@example.com", PASSWORD, ip=OWNER_IP).status_code == 302

    assert gate.get_failures("alice@example.com", OWNER_IP) == 0
    assert gate.get_failures("alice@example.com", STRANGER_IP) == 3
    assert gate.get_failures("bob@example.com", OWNER_IP) == 2
    assert not AccessAttempt.objects.filter(username="alice@example.com", ip_address=OWNER_IP).exists()
    assert AccessAttempt.objects.filter(username="alice@example.com", ip_address=STRANGER_IP).exists()


def test_retry_after_counts_down(client, make_user):
    """While locked, Retry-After and the text give the time left."""
    make_user("alice@example.com")
    with time_machine.travel(T0, tick=False):
        fail(client, "alice@example.com", 5)
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        response = sign_in(client, "alice@example.com", "wrong-x", ip=STRANGER_IP)
    assert response.status_code == 429
    assert response["Retry-After"] == "300"
    assert b"Try again in 5 minutes." in response.content


def test_lockout_answer_in_json(client, make_user):
    """A client asking for JSON gets the lockout as a JSON error with retry_after."""
    make_user("alice@example.com")
    fail(client, "alice@example.com", 5)
    response = sign_in(client, "alice@example.com", "wrong-x", ip=STRANGER_IP, HTTP_ACCEPT="application/json")
    assert response.status_code == 429
    body = json.loads(response.content)
    assert body["error"]["code"] == "locked_out"
    assert body["error"]["retry_after"] == int(response["Retry-After"])


def test_expired_lockout_counts_afresh(client, make_user, audit_log):
    """After the lockout ends, a failure counts as the first of a new series."""
    make_user("alice@example.com")
    with time_machine.travel(T0, tick=False):
        fail(client, "alice@example.com", 5)
    with time_machine.travel(T0 + timedelta(minutes=15, seconds=1), tick=False):
        again = fail(client, "alice@example.com", 4, start=10)
        assert gate.get_failures("alice@example.com", STRANGER_IP) == 4
        fifth = sign_in(client, "alice@example.com", "wrong-20", ip=STRANGER_IP)
    assert [r.status_code for r in again] == [200, 200, 200, 200]
    assert fifth.status_code == 429
    assert len(audit_log.records("account_locked")) == 2


def test_expired_lockout_lets_owner_in(client, make_user):
    """Once the lockout ends, the right password signs in from the same IP."""
    make_user("alice@example.com")
    with time_machine.travel(T0, tick=False):
        fail(client, "alice@example.com", 5)
    with time_machine.travel(T0 + timedelta(minutes=15), tick=False):
        assert sign_in(client, "alice@example.com", PASSWORD, ip=STRANGER_IP).status_code == 302


def test_failures_expire_after_idle_cool_off(client, make_user):
    """Failures spread more than a cool-off period apart never add up to a lockout."""
    make_user("alice@example.com")
    for step in range(6):
        with time_machine.travel(T0 + step * timedelta(minutes=16), tick=False):
            response = sign_in(client, "alice@example.com", f"wrong-{step}", ip=STRANGER_IP)
            assert response.status_code == 200
            assert gate.get_failures("alice@example.com", STRANGER_IP) == 1


def test_reauthentication_releases_its_place(client, make_user):
    """Successful re-authentications hold no lockout place once their request ends."""
    user = make_user("alice@example.com")
    client.force_login(user)
    for _ in range(6):
        response = client.post("/accounts/reauthenticate/", {"password": PASSWORD}, REMOTE_ADDR=OWNER_IP)
        assert response.status_code == 302
    assert gate.get_counter("alice@example.com", OWNER_IP) is None


def test_refused_admin_login_releases_its_place(make_user):
    """A right password of a user whom the admin refuses (not an Admin) never counts toward the lockout."""
    make_user("viewer@example.com")
    for _ in range(6):
        client = Client()
        response = admin_sign_in(client, "viewer@example.com", PASSWORD, ip=OWNER_IP)
        assert response.status_code == 302
        assert response["Location"] == "/admin/"
        refused = client.get("/admin/", follow=True, REMOTE_ADDR=OWNER_IP)
        assert refused.status_code == 403
        assert b"Your account cannot use the admin." in refused.content
    assert gate.get_counter("viewer@example.com", OWNER_IP) is None
    assert not AccessAttempt.objects.filter(username="viewer@example.com").exists()


def test_other_secret_checks_share_the_pair(rf, make_user, audit_log):
    """Failures recorded through axes' handler by another check (such as a second factor) count for the pair."""
    from axes.handlers.proxy import AxesProxyHandler

    make_user("alice@example.com")
    fail(Client(), "alice@example.com", 3)
    requests = []
    for _ in range(3):
        request = rf.post("/accounts/2fa/", REMOTE_ADDR=STRANGER_IP)
        AxesProxyHandler.user_login_failed(sender=None, credentials={"email": "Alice@example.com"}, request=request)
        requests.append(request)

    assert [request.axes_locked_out for request in requests] == [False, True, True]
    assert AxesProxyHandler.is_locked(rf.get("/", REMOTE_ADDR=STRANGER_IP), {"email": "alice@example.com"})
    assert gate.get_failures("alice@example.com", STRANGER_IP) == 6
    assert len(audit_log.records("account_locked")) == 1
    assert sign_in(Client(), "alice@example.com", PASSWORD, ip=STRANGER_IP).status_code == 429


@pytest.mark.parametrize("length", [254, 255, 256, 1000])
def test_overlong_identifiers_fail_cleanly(client, length):
    """Very long emails, typed on the sign-in page or on the way to the admin, get a form error, never a server error."""
    identifier = "a" * (length - len("@example.com")) + "@example.com"
    for response in (
        sign_in(client, identifier, "wrong", ip=STRANGER_IP),
        admin_sign_in(client, identifier, "wrong", ip=STRANGER_IP),
    ):
        assert response.status_code == 200
        assert response.context["form"].errors
    assert "_auth_user_id" not in client.session


def test_unparsable_client_address_still_counts(client, make_user):
    """A REMOTE_ADDR that is not an IP address is counted under the empty address, without errors."""
    make_user("alice@example.com")
    statuses = [sign_in(client, "alice@example.com", f"wrong-{i}", ip="not-an-ip").status_code for i in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    assert gate.get_failures("alice@example.com", "") == 5
