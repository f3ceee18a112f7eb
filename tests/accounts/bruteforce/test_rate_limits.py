import json
from datetime import datetime, timezone

import pytest
import time_machine
from django.core import mail
from django.test import Client

from tests.accounts.bruteforce.conftest import PASSWORD, RESET_URL, admin_sign_in, comparable, sign_in

pytestmark = pytest.mark.django_db

# 09:00:10, ten seconds into a fixed window that is a whole number of minutes long.
T0 = datetime(2026, 3, 2, 9, 0, 10, tzinfo=timezone.utc)
IP = "203.0.113.30"
OTHER_IP = "203.0.113.31"


@pytest.fixture
def sign_in_limit(settings):
    settings.DANGO_SIGN_IN_IP_LIMIT = 3
    settings.DANGO_SIGN_IN_IP_WINDOW = 300


def request_reset(client, email, ip=IP, **headers):
    return client.post(RESET_URL, {"email": email}, REMOTE_ADDR=ip, **headers)


# Sign-in attempts per IP, across all emails


def test_sign_in_limit_spans_emails(sign_in_limit, make_user):
    """The fourth attempt from one IP is refused with 429, whatever email it names."""
    make_user("alice@example.com")
    client = Client()
    with time_machine.travel(T0, tick=False):
        statuses = [sign_in(client, f"user{i}@example.com", "wrong", ip=IP).status_code for i in range(3)]
        refused = sign_in(client, "alice@example.com", PASSWORD, ip=IP)
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused["Retry-After"] == "290"
    assert b"Try again in 290 seconds." in refused.content
    assert "_auth_user_id" not in client.session


def test_sign_in_limit_is_per_ip(sign_in_limit, make_user):
    """Another IP still signs in while one IP is limited."""
    make_user("alice@example.com")
    for i in range(4):
        sign_in(Client(), f"user{i}@example.com", "wrong", ip=IP)
    assert sign_in(Client(), "alice@example.com", PASSWORD, ip=OTHER_IP).status_code == 302


def test_sign_in_limit_covers_admin_login(sign_in_limit, admin_user):
    """Sign-ins started from the admin login count toward the same per-IP limit."""
    client = Client()
    for i in range(3):
        sign_in(client, f"user{i}@example.com", "wrong", ip=IP)
    assert admin_sign_in(client, "admin@example.com", PASSWORD, ip=IP).status_code == 429
    assert "_auth_user_id" not in client.session


def test_limited_attempt_hashes_nothing(sign_in_limit, hasher_log):
    """A refused attempt never reaches the password hasher."""
    client = Client()
    for i in range(3):
        sign_in(client, f"user{i}@example.com", "wrong", ip=IP)
    hasher_log.clear()
    assert sign_in(client, "user9@example.com", "wrong", ip=IP).status_code == 429
    assert hasher_log.count() == 0


def test_sign_in_limit_audited_per_refusal(sign_in_limit, audit_log):
    """Each rejected attempt makes one rate_limit_hit record and a login_failure with reason rate_limited."""
    client = Client()
    with time_machine.travel(T0, tick=False):
        for i in range(5):
            sign_in(client, f"user{i}@example.com", "wrong", ip=IP)
    hits = audit_log.records("rate_limit_hit")
    assert len(hits) == 2
    for record in hits:
        assert record["ip"] == IP
        assert record["details"] == {"limit": "sign_in_ip", "scope": "ip", "retry_after": 290, "path": "/accounts/login/"}
    reasons = [record["details"]["reason"] for record in audit_log.records("login_failure")]
    assert reasons == ["invalid_credentials"] * 3 + ["rate_limited"] * 2


def test_sign_in_limit_in_json(sign_in_limit):
    """A client asking for JSON gets the refusal as a JSON error."""
    client = Client()
    for i in range(3):
        sign_in(client, f"user{i}@example.com", "wrong", ip=IP)
    response = sign_in(client, "user9@example.com", "wrong", ip=IP, HTTP_ACCEPT="application/json")
    assert response.status_code == 429
    assert json.loads(response.content)["error"]["code"] == "rate_limited"
    assert int(response["Retry-After"]) > 0


def test_sign_in_limit_window_ends(sign_in_limit):
    """A new window admits attempts again."""
    client = Client()
    with time_machine.travel(T0, tick=False):
        for i in range(4):
            sign_in(client, f"user{i}@example.com", "wrong", ip=IP)
    with time_machine.travel(datetime(2026, 3, 2, 9, 5, 0, tzinfo=timezone.utc), tick=False):
        assert sign_in(client, "user9@example.com", "wrong", ip=IP).status_code == 200


# Password-reset requests per email and per IP


def test_reset_sends_mail_and_signal_once(make_user, audit_log):
    """An accepted reset request mails the account and makes one password_reset_requested record."""
    make_user("alice@example.com")
    response = request_reset(Client(), " Alice@Example.com")
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@example.com"]
    records = audit_log.records("password_reset_requested")
    assert len(records) == 1
    assert records[0]["target"]["email"] == "alice@example.com"
    assert records[0]["details"] == {"known_account": True}
    assert records[0]["ip"] == IP


def test_reset_for_unknown_email_is_recorded(audit_log):
    """A reset request for an unknown email is recorded once, without an account."""
    assert request_reset(Client(), "nobody@example.com").status_code == 302
    records = audit_log.records("password_reset_requested")
    assert len(records) == 1
    assert records[0]["target"] == {"type": "user", "id": None, "email": "nobody@example.com"}
    assert records[0]["details"] == {"known_account": False}


def test_reset_limited_per_email(make_user, audit_log):
    """The fourth request within an hour for one email, in any letter case, gets 429 and sends no mail."""
    make_user("alice@example.com")
    with time_machine.travel(T0, tick=False):
        accepted = [request_reset(Client(), email, ip=f"203.0.113.{40 + i}") for i, email in
                    enumerate(["alice@example.com", "ALICE@example.com", " alice@Example.COM"])]
        refused = request_reset(Client(), "Alice@example.com", ip="203.0.113.50")
    assert [r.status_code for r in accepted] == [302, 302, 302]
    assert refused.status_code == 429
    assert refused["Retry-After"] == "3590"
    assert len(mail.outbox) == 3
    assert len(audit_log.records("password_reset_requested")) == 3
    hits = audit_log.records("rate_limit_hit")
    assert len(hits) == 1
    assert hits[0]["details"]["limit"] == "password_reset_email"
    assert hits[0]["details"]["scope"] == "email"


def test_reset_limit_answer_hides_existence(make_user):
    """The per-email refusal is the same for a known and an unknown email."""
    make_user("alice@example.com")
    answers = []
    with time_machine.travel(T0, tick=False):
        for email in ("alice@example.com", "nobody@example.com"):
            for _ in range(3):
                request_reset(Client(), email)
            answers.append(request_reset(Client(), email, ip=OTHER_IP))
    assert answers[0].status_code == 429
    assert comparable(answers[1]) == comparable(answers[0])


def test_reset_limited_per_ip(audit_log):
    """The eleventh request within an hour from one IP gets 429; another IP is still served."""
    with time_machine.travel(T0, tick=False):
        statuses = [request_reset(Client(), f"user{i}@example.com").status_code for i in range(10)]
        refused = request_reset(Client(), "user99@example.com")
        elsewhere = request_reset(Client(), "user99@example.com", ip=OTHER_IP)
    assert statuses == [302] * 10
    assert refused.status_code == 429
    assert refused["Retry-After"] == "3590"
    assert elsewhere.status_code == 302
    hits = audit_log.records("rate_limit_hit")
    assert [hit["details"]["limit"] for hit in hits] == ["password_reset_ip"]
    assert len(audit_log.records("password_reset_requested")) == 11


def test_reset_limits_are_settings(settings, audit_log):
    """The per-email limit follows DANGO_PASSWORD_RESET_EMAIL_LIMIT."""
    settings.DANGO_PASSWORD_RESET_EMAIL_LIMIT = 1
    assert request_reset(Client(), "nobody@example.com").status_code == 302
    assert request_reset(Client(), "nobody@example.com").status_code == 429


def test_invalid_reset_email_is_not_counted(audit_log):
    """A malformed email gets the form error and uses up no limit."""
    for _ in range(12):
        response = request_reset(Client(), "not-an-email")
        assert response.status_code == 200
    assert audit_log.records("rate_limit_hit") == []
    assert request_reset(Client(), "nobody@example.com").status_code == 302
