from binascii import unhexlify

import pytest
import time_machine
from django.urls import reverse
from django_otp.oath import TOTP

from accounts.twofactor import devices

# RFC 6238's test secret ("12345678901234567890"), so codes can be checked by hand.
KEY_HEX = "3132333435363738393031323334353637383930"
# A fixed instant 5 seconds into a 30-second step: the steps either side are
# whole steps away, whatever the test does in between.
EPOCH = 1_900_000_005
PASSWORD = "Correct-Horse-42"


def totp_code(at: float, step_offset: int = 0) -> str:
    """Return the code of KEY_HEX at ``at`` shifted by ``step_offset`` 30-second steps."""
    totp = TOTP(unhexlify(KEY_HEX), step=30, digits=6)
    totp.time = at + step_offset * 30
    return f"{totp.token():06d}"


@pytest.fixture
def clock():
    """Freeze time at EPOCH; the test moves it with ``clock.shift(seconds)``."""
    with time_machine.travel(EPOCH, tick=False) as traveller:
        yield traveller


@pytest.fixture
def enrol():
    """Return a function that turns 2FA on for a user with KEY_HEX; it returns the recovery codes."""

    def enrol_user(user, request=None) -> list[str]:
        _, codes = devices.enable(user, KEY_HEX, confirmed_step=-1, request=request)
        return codes

    return enrol_user


@pytest.fixture
def enrolled_user(make_user, enrol):
    user = make_user("alice@example.com", PASSWORD)
    user.recovery_codes = enrol(user)
    return user


def sign_in_with_password(client, email: str, password: str = PASSWORD, next_url: str | None = None):
    data = {"login": email, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("account_login"), data)


def submit_code(client, code: str):
    return client.post(reverse("two_factor_challenge"), {"code": code})


def signed_in_user_id(client):
    return client.session.get("_auth_user_id")
