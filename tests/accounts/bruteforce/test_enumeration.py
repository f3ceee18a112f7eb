from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from allauth.socialaccount.models import SocialAccount
from django.test import Client

from accounts.models import User
from tests.accounts.bruteforce.conftest import comparable, sign_in

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
EMAIL = "alice@example.com"
IP = "203.0.113.20"


def make_oauth_only_user(make_user):
    user = make_user(EMAIL, password=None)
    SocialAccount.objects.create(user=user, provider="google", uid="109876543210")
    return user


def failed_sign_in(hasher_log, email=EMAIL, ip=IP):
    """Return one failed sign-in's response at T0 and how many hashes it computed."""
    hasher_log.clear()
    with time_machine.travel(T0, tick=False):
        response = sign_in(Client(), email, "Wrong-Guess-1", ip=ip)
    return response, hasher_log.count()


def test_failure_answers_match_for_all_accounts(make_user, hasher_log):
    """Known email, unknown email and OAuth-only account get the same failure response."""
    user = make_user(EMAIL)
    known, _ = failed_sign_in(hasher_log)
    user.delete()
    unknown, _ = failed_sign_in(hasher_log)
    make_oauth_only_user(make_user)
    oauth_only, _ = failed_sign_in(hasher_log)

    assert known.status_code == 200
    assert b"not correct" in known.content
    assert comparable(unknown) == comparable(known)
    assert comparable(oauth_only) == comparable(known)


def test_hasher_runs_on_every_failure_path(make_user, hasher_log):
    """Every failed sign-in hashes as often, whether or not the email has a usable password."""
    user = make_user(EMAIL)
    _, known_hashes = failed_sign_in(hasher_log)
    user.delete()
    _, unknown_hashes = failed_sign_in(hasher_log)
    make_oauth_only_user(make_user)
    _, oauth_only_hashes = failed_sign_in(hasher_log)

    assert known_hashes >= 1
    assert unknown_hashes == known_hashes
    assert oauth_only_hashes == known_hashes


def lock(email, ip=IP):
    client = Client()
    return [sign_in(client, email, f"wrong-{i}", ip=ip) for i in range(5)][-1]


def test_locking_answers_match(make_user):
    """The response to the failure that locks is the same for a known and an unknown email."""
    make_user(EMAIL)
    with time_machine.travel(T0, tick=False):
        known = lock(EMAIL)
        unknown = lock("nobody@example.com")
    assert known.status_code == 429
    assert comparable(unknown) == comparable(known)


def test_locked_answers_match(make_user, hasher_log):
    """While locked, known and unknown emails get the same response, and neither hashes a password."""
    make_user(EMAIL)
    make_oauth_only_user_email = "oauth@example.com"
    oauth_user = make_user(make_oauth_only_user_email, password=None)
    SocialAccount.objects.create(user=oauth_user, provider="github", uid="4242")
    with time_machine.travel(T0, tick=False):
        for email in (EMAIL, "nobody@example.com", make_oauth_only_user_email):
            lock(email)

    answers = {}
    with time_machine.travel(T0 + timedelta(minutes=3), tick=False):
        for email in (EMAIL, "nobody@example.com", make_oauth_only_user_email):
            hasher_log.clear()
            answers[email] = sign_in(Client(), email, "Wrong-Guess-2", ip=IP)
            assert hasher_log.count() == 0

    known = answers[EMAIL]
    assert known.status_code == 429
    assert known["Retry-After"] == "720"
    assert b"Try again in 12 minutes." in known.content
    assert comparable(answers["nobody@example.com"]) == comparable(known)
    assert comparable(answers[make_oauth_only_user_email]) == comparable(known)


def test_known_email_is_counted_like_unknown(make_user):
    """A lockout takes five failures for a known email and for an unknown one alike."""
    make_user(EMAIL)
    for email in (EMAIL, "nobody@example.com"):
        client = Client()
        statuses = [sign_in(client, email, f"wrong-{i}", ip=IP).status_code for i in range(6)]
        assert statuses == [200, 200, 200, 200, 429, 429]
    assert User.objects.filter(email="nobody@example.com").count() == 0
