"""Social sign-in passes through the same second-factor step.

allauth's dummy provider replaces Google and GitHub here. It runs the whole
social flow (state, lookup of the linked account, login stages) without
HTTP, so these tests cover the stage that every provider goes through.
"""

import pytest
from allauth.socialaccount.models import SocialAccount
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY

from tests.accounts.two_factor.conftest import EPOCH, signed_in_user_id, submit_code, totp_code

pytestmark = pytest.mark.django_db

UID = "4242"


def _social_sign_in(client, user):
    start = client.post(reverse("dummy_login"))
    assert start.status_code == 302, start
    return client.post(start["Location"], {"id": UID, "email": user.email, "email_verified": "on"})


@pytest.fixture
def linked_user(enrolled_user):
    SocialAccount.objects.create(user=enrolled_user, provider="dummy", uid=UID)
    return enrolled_user


def test_social_sign_in_stops_at_code_step(clock, client, linked_user):
    """A linked social identity alone does not sign in a user with 2FA."""
    response = _social_sign_in(client, linked_user)

    assert response.status_code == 302
    assert response["Location"] == reverse("two_factor_challenge")
    assert signed_in_user_id(client) is None
    assert client.get(reverse("account")).status_code == 302


def test_social_sign_in_completes_with_code(clock, client, linked_user, audit_log):
    """After the social step, a TOTP code signs the user in with a verified session."""
    _social_sign_in(client, linked_user)

    response = submit_code(client, totp_code(EPOCH))

    assert response.status_code == 302
    assert signed_in_user_id(client) == str(linked_user.pk)
    assert DEVICE_ID_SESSION_KEY in client.session
    assert client.get(reverse("account")).status_code == 200
    assert audit_log.events().count("login_success") == 1


def test_social_wrong_code_counts_under_user_email(clock, client, linked_user, audit_log, settings):
    """A wrong code after social sign-in is counted under the user's email in axes."""
    from axes.models import AccessAttempt

    _social_sign_in(client, linked_user)

    submit_code(client, "000000")

    attempt = AccessAttempt.objects.get()
    assert attempt.username == linked_user.email
    assert attempt.failures_since_start == 1
    assert audit_log.records("two_fa_failure")[0]["target"]["email"] == linked_user.email
