import re
from base64 import b32decode

import pytest
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.twofactor.models import RecoveryCode, RecoveryCodeDevice
from tests.accounts.two_factor.conftest import EPOCH, PASSWORD, totp_code

pytestmark = pytest.mark.django_db

INLINE_CODE = re.compile(r"<script|<style|\sstyle=|\son[a-z]+=", re.I)


def code_for_secret(secret: str, at: float) -> str:
    key = b32decode(secret.replace(" ", ""))
    totp = TOTP(key, step=30, digits=6)
    totp.time = at
    return f"{totp.token():06d}"


@pytest.fixture
def user(make_user):
    return make_user("carol@example.com", PASSWORD)


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


def confirm_password(client, next_url: str):
    return client.post(reverse("reauthenticate"), {"password": PASSWORD, "next": next_url})


def open_enrolment(client) -> str:
    enable_url = reverse("two_factor_enable")
    assert confirm_password(client, enable_url)["Location"] == enable_url
    response = client.get(enable_url)
    assert response.status_code == 200
    return response.context["secret"]


def test_enrolment_asks_for_password_first(clock, user_client):
    """Opening enrolment without a recent confirmation leads to the password prompt."""
    response = user_client.get(reverse("two_factor_enable"))

    assert response.status_code == 302
    assert response["Location"] == "/account/reauthenticate/?next=%2Faccount%2Ftwo-factor%2Fenable%2F"


def test_enrolment_page_shows_qr_and_secret(clock, user_client, user):
    """The page shows an inline SVG QR code and the secret, and creates no device yet."""
    secret = open_enrolment(user_client)
    response = user_client.get(reverse("two_factor_enable"))
    html = response.content.decode()

    assert re.fullmatch(r"([A-Z2-7]{4} ){7}[A-Z2-7]{4}", secret)
    assert "<svg" in html
    assert "<img" not in html
    assert secret in html
    assert response.context["secret"] == secret  # the same secret until it is confirmed
    assert not INLINE_CODE.search(html)
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert response["Cache-Control"].startswith("max-age=0")


def test_wrong_code_enables_nothing(clock, user_client, user, audit_log):
    """A wrong confirmation code leaves the user without a device or recovery codes."""
    secret = open_enrolment(user_client)

    response = user_client.post(reverse("two_factor_enable"), {"code": code_for_secret(secret, EPOCH + 90)})

    assert response.status_code == 200
    assert b"That code does not match" in response.content
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not RecoveryCodeDevice.objects.filter(user=user).exists()
    assert audit_log.records("two_fa_enabled") == []


def test_abandoned_enrolment_leaves_no_device(clock, user_client, user):
    """Leaving after seeing the secret creates nothing, and a stale secret is replaced."""
    first = open_enrolment(user_client)
    user_client.get(reverse("account"))

    assert not TOTPDevice.objects.filter(user=user).exists()
    clock.shift(16 * 60)
    second = open_enrolment(user_client)
    assert second != first


def test_confirmed_enrolment_turns_on_two_factor(clock, user_client, user, client_factory, audit_log):
    """A current code turns 2FA on, shows ten recovery codes once and ends the user's other sessions."""
    other = client_factory()
    other.force_login(user)
    secret = open_enrolment(user_client)

    response = user_client.post(reverse("two_factor_enable"), {"code": code_for_secret(secret, EPOCH)})

    assert response.status_code == 200
    codes = response.context["codes"]
    assert len(codes) == 10
    for code in codes:
        assert code in response.content.decode()
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed
    assert device.last_t == EPOCH // 30
    assert RecoveryCode.objects.filter(device__user=user, used_at=None).count() == 10
    assert user_client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert user_client.get(reverse("account")).status_code == 200
    assert other.get(reverse("account")).status_code == 302

    [record] = audit_log.records("two_fa_enabled")
    assert record["actor"]["id"] == user.pk
    assert record["target"]["id"] == user.pk
    assert record["details"] == {"device": "Authenticator app"}
    assert record["ip"] == "127.0.0.1"
    line = audit_log.path.read_text()
    assert secret.replace(" ", "") not in line
    assert device.key not in line
    assert not any(code in line for code in codes)
    assert [r["details"]["reason"] for r in audit_log.records("session_revoked")] == ["two_factor_enabled"]


def test_confirming_code_cannot_sign_in(clock, user_client, user, client_factory):
    """The code that confirmed enrolment is already used and does not pass the sign-in step."""
    secret = open_enrolment(user_client)
    code = code_for_secret(secret, EPOCH)
    user_client.post(reverse("two_factor_enable"), {"code": code})

    browser = client_factory()
    browser.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    response = browser.post(reverse("two_factor_challenge"), {"code": code})

    assert b"already used" in response.content


def test_enrolment_when_already_on(clock, client, enrolled_user, verified_login):
    """Opening enrolment with 2FA already on goes back to the account page."""
    verified_login(client, enrolled_user)

    response = client.get(reverse("two_factor_enable"))

    assert response["Location"] == reverse("account")


def test_account_page_counts_recovery_codes(clock, client, enrolled_user, verified_login):
    """The account page shows how many recovery codes are left."""
    verified_login(client, enrolled_user)
    page = client.get(reverse("account"))
    assert b'id="recovery-codes-remaining">10<' in page.content

    RecoveryCode.objects.filter(pk=RecoveryCode.objects.filter(device__user=enrolled_user).first().pk).update(
        used_at=enrolled_user.date_joined
    )
    page = client.get(reverse("account"))
    assert b'id="recovery-codes-remaining">9<' in page.content
    assert not INLINE_CODE.search(page.content.decode())


def test_account_page_offers_enrolment(user_client):
    """Without 2FA the account page links to enrolment."""
    page = user_client.get(reverse("account"))

    assert reverse("two_factor_enable").encode() in page.content


def test_regenerate_needs_password_and_code(clock, client, enrolled_user, verified_login, audit_log):
    """New recovery codes need the password and a current code; the old set stops working."""
    verified_login(client, enrolled_user)
    url = reverse("two_factor_recovery_codes")

    no_code = client.post(url, {"password": PASSWORD})
    wrong_password = client.post(url, {"password": "nope", "code": totp_code(EPOCH)})
    assert no_code.status_code == wrong_password.status_code == 200
    assert b"This field is required" in no_code.content
    assert b"The password is not correct" in wrong_password.content
    assert audit_log.records("recovery_codes_regenerated") == []

    response = client.post(url, {"password": PASSWORD, "code": totp_code(EPOCH)})

    new_codes = response.context["codes"]
    assert len(new_codes) == 10
    assert not set(new_codes) & set(enrolled_user.recovery_codes)
    assert RecoveryCode.objects.filter(device__user=enrolled_user).count() == 10
    device = RecoveryCodeDevice.objects.get(user=enrolled_user)
    assert not device.verify_token(enrolled_user.recovery_codes[0])
    assert device.verify_token(new_codes[0])
    [record] = audit_log.records("recovery_codes_regenerated")
    assert record["actor"]["id"] == enrolled_user.pk
    assert record["details"] == {"count": 10}
    assert not any(code in audit_log.path.read_text() for code in new_codes)


def test_disable_needs_password_and_code(clock, client, enrolled_user, verified_login, audit_log):
    """Turning 2FA off with a wrong code changes nothing; with password and a recovery code it is off."""
    verified_login(client, enrolled_user)
    url = reverse("two_factor_disable")

    refused = client.post(url, {"password": PASSWORD, "code": "000000"})
    assert refused.status_code == 200
    assert TOTPDevice.objects.filter(user=enrolled_user).exists()

    clock.shift(2)
    response = client.post(url, {"password": PASSWORD, "code": enrolled_user.recovery_codes[0]})

    assert response["Location"] == reverse("account")
    assert not TOTPDevice.objects.filter(user=enrolled_user).exists()
    assert not RecoveryCodeDevice.objects.filter(user=enrolled_user).exists()
    assert not RecoveryCode.objects.exists()
    [record] = audit_log.records("two_fa_disabled")
    assert record["actor"]["id"] == enrolled_user.pk
    assert record["details"] == {"by_owner": True}
    assert audit_log.events().count("two_fa_failure") == 1


def test_disable_pages_have_no_inline_code(clock, client, enrolled_user, verified_login):
    """The 2FA pages carry no inline scripts, styles or event handlers."""
    verified_login(client, enrolled_user)

    for name in ("two_factor_disable", "two_factor_recovery_codes", "reauthenticate", "account"):
        html = client.get(reverse(name)).content.decode()
        assert not INLINE_CODE.search(html), name


@pytest.fixture
def client_factory():
    from django.test import Client

    return Client
