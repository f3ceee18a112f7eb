"""Google and GitHub sign-in for users with two-factor authentication."""

import pytest
import time_machine
from django.urls import reverse

from accounts.twofactor import devices
from tests.accounts.onboarding.fake_provider import Identity
from tests.accounts.two_factor.conftest import EPOCH, KEY_HEX, totp_code

pytestmark = pytest.mark.django_db


def signed_in_user_id(client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


@pytest.mark.parametrize(
    "identity",
    [
        Identity("google", "g-2002", [("alice@example.com", True, True)]),
        Identity("github", "4343", [("alice@example.com", True, True)]),
    ],
    ids=["google", "github"],
)
def test_oauth_user_with_2fa_needs_code(oauth_flow, make_user, audit_log, identity):
    """After Google or GitHub, a user with 2FA is not signed in until a code passes."""
    alice = make_user("alice@example.com")
    devices.enable(alice, KEY_HEX, confirmed_step=-1)

    with time_machine.travel(EPOCH, tick=False):
        response = oauth_flow.sign_in(identity)

        assert response.status_code == 302
        assert response["Location"] == reverse("two_factor_challenge")
        assert signed_in_user_id(oauth_flow.client) is None
        assert oauth_flow.client.get("/account/").status_code == 302
        assert audit_log.records("login_success") == []

        response = oauth_flow.client.post(reverse("two_factor_challenge"), {"code": totp_code(EPOCH)})

    assert response.status_code == 302
    assert signed_in_user_id(oauth_flow.client) == alice.pk
    records = audit_log.records("login_success")
    assert [record["actor"]["id"] for record in records] == [alice.pk]


def test_oauth_user_with_2fa_wrong_code(oauth_flow, make_user, audit_log):
    """A wrong code after Google sign-in records two_fa_failure and signs nobody in."""
    alice = make_user("alice@example.com")
    devices.enable(alice, KEY_HEX, confirmed_step=-1)

    with time_machine.travel(EPOCH, tick=False):
        oauth_flow.sign_in(Identity("google", "g-2003", [("alice@example.com", True, True)]))
        wrong = f"{(int(totp_code(EPOCH)) + 1) % 1_000_000:06d}"
        oauth_flow.client.post(reverse("two_factor_challenge"), {"code": wrong})

    assert signed_in_user_id(oauth_flow.client) is None
    assert len(audit_log.records("two_fa_failure")) == 1
