import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.twofactor.models import RecoveryCodeDevice
from tests.accounts.two_factor.conftest import EPOCH, PASSWORD, sign_in_with_password, submit_code, totp_code

pytestmark = pytest.mark.django_db

ENROL = reverse("two_factor_enable")


@pytest.fixture
def admin_signed_in(client, admin_user):
    """An Admin without 2FA, signed in with the password through the real sign-in page."""
    response = sign_in_with_password(client, admin_user.email)
    assert response.status_code == 302
    return client


def test_admin_without_two_factor_sent_to_enrolment(admin_signed_in):
    """Under the default policy an Admin without 2FA can open nothing but enrolment."""
    for path in (reverse("home"), reverse("account"), "/admin/", "/admin/accounts/user/"):
        response = admin_signed_in.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == ENROL, path


def test_admin_without_two_factor_json_refused(admin_signed_in):
    """A JSON request from an Admin without 2FA gets 403 with the code two_factor_required."""
    response = admin_signed_in.get(reverse("home"), headers={"accept": "application/json"})

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "two_factor_required"


def test_admin_without_two_factor_reaches_enrolment(clock, admin_signed_in):
    """Enrolment, its password prompt, the password change and sign-out stay reachable."""
    assert admin_signed_in.get(ENROL)["Location"].startswith(reverse("reauthenticate"))
    assert admin_signed_in.get(reverse("reauthenticate")).status_code == 200
    assert admin_signed_in.get(reverse("account_change_password")).status_code == 200
    confirmed = admin_signed_in.post(reverse("reauthenticate"), {"password": PASSWORD, "next": ENROL})
    assert confirmed["Location"] == ENROL
    page = admin_signed_in.get(ENROL)
    assert page.status_code == 200
    assert b"Your role requires two-factor authentication" in page.content
    assert admin_signed_in.post(reverse("account_logout")).status_code == 302


def test_admin_after_enrolment_reaches_admin(clock, admin_signed_in, admin_user):
    """Once the Admin turns 2FA on, the admin site opens in the same session."""
    from base64 import b32decode

    from django_otp.oath import TOTP

    admin_signed_in.post(reverse("reauthenticate"), {"password": PASSWORD, "next": ENROL})
    secret = admin_signed_in.get(ENROL).context["secret"]
    totp = TOTP(b32decode(secret.replace(" ", "")))
    totp.time = EPOCH
    admin_signed_in.post(ENROL, {"code": f"{totp.token():06d}"})

    assert admin_signed_in.get("/admin/").status_code == 200
    assert admin_signed_in.get(reverse("home")).status_code == 200


def test_policy_off_lets_admin_in(admin_signed_in, settings):
    """With DANGO_2FA_REQUIRED_FOR_ADMINS off, an Admin without 2FA uses the site and the admin."""
    settings.DANGO_2FA_REQUIRED_FOR_ADMINS = False

    assert admin_signed_in.get(reverse("home")).status_code == 200
    assert admin_signed_in.get("/admin/").status_code == 200


def test_viewer_not_required_by_default(client, make_user):
    """Users other than Admins need no 2FA under the default policy."""
    viewer = make_user("viewer@example.com")
    sign_in_with_password(client, viewer.email)

    assert client.get(reverse("home")).status_code == 200


def test_required_for_everyone(client, make_user, settings):
    """With DANGO_2FA_REQUIRED_FOR_ALL every role is sent to enrolment."""
    settings.DANGO_2FA_REQUIRED_FOR_ALL = True
    viewer = make_user("viewer@example.com")
    sign_in_with_password(client, viewer.email)

    assert client.get(reverse("home"))["Location"] == ENROL


def test_admin_site_needs_verified_session(client, admin_user, verified_login):
    """An Admin whose 2FA session is verified opens the admin; one signed in without it does not."""
    verified_login(client, admin_user)
    assert client.get("/admin/").status_code == 200

    session = client.session
    del session["otp_device_id"]
    session.save()
    assert client.get("/admin/").status_code == 302


def test_disable_when_required_leads_to_enrolment(clock, client, admin_user, enrol, verified_login):
    """An Admin who turns 2FA off is sent straight back to enrolment."""
    codes = enrol(admin_user)
    verified_login(client, admin_user)

    response = client.post(reverse("two_factor_disable"), {"password": PASSWORD, "code": codes[0]})

    assert response["Location"] == ENROL
    assert client.get(reverse("home"))["Location"] == ENROL
    assert client.get(ENROL).status_code == 200


# Resetting another user's 2FA


def test_admin_resets_users_two_factor(clock, admin_client, admin_user, enrolled_user, audit_log):
    """The admin action turns a user's 2FA off, recorded with the Admin as actor."""
    response = admin_client.post(
        "/admin/accounts/user/",
        {"action": "reset_two_factor", "_selected_action": [enrolled_user.pk]},
    )

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=enrolled_user).exists()
    assert not RecoveryCodeDevice.objects.filter(user=enrolled_user).exists()
    [record] = audit_log.records("two_fa_disabled")
    assert record["actor"]["id"] == admin_user.pk
    assert record["target"]["id"] == enrolled_user.pk
    assert record["details"] == {"by_owner": False}
    assert record["ip"] == "127.0.0.1"


def test_reset_action_needs_recent_confirmation(clock, client, admin_user, enrolled_user, verified_login):
    """Without a recent re-authentication the reset action changes nothing and asks for the password."""
    verified_login(client, admin_user, reauthenticated=False)

    response = client.post(
        "/admin/accounts/user/",
        {"action": "reset_two_factor", "_selected_action": [enrolled_user.pk]},
        headers={"referer": "http://testserver/admin/accounts/user/"},
    )

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("reauthenticate"))
    assert TOTPDevice.objects.filter(user=enrolled_user).exists()


def test_reset_action_refuses_own_account(clock, admin_client, admin_user):
    """An Admin cannot reset their own 2FA from the admin."""
    response = admin_client.post(
        "/admin/accounts/user/", {"action": "reset_two_factor", "_selected_action": [admin_user.pk]}, follow=True
    )

    assert b"cannot reset your own" in response.content
    assert TOTPDevice.objects.filter(user=admin_user).exists()


def test_user_change_form_needs_recent_confirmation(clock, client, admin_user, make_user, verified_login):
    """The user change form, where roles change, asks for recent re-authentication."""
    viewer = make_user("viewer@example.com")
    verified_login(client, admin_user, reauthenticated=False)
    url = f"/admin/accounts/user/{viewer.pk}/change/"

    response = client.get(url)

    assert response["Location"] == f"{reverse('reauthenticate')}?next=%2Fadmin%2Faccounts%2Fuser%2F{viewer.pk}%2Fchange%2F"
    clock.shift(2)
    client.post(reverse("reauthenticate"), {"password": PASSWORD, "code": totp_code(EPOCH + 2), "next": url})
    # verified_login gave the Admin a random key, so the fixed key's code above is wrong.
    assert client.get(url).status_code == 302


def test_role_change_after_confirmation(clock, client, admin_user, make_user, enrol, verified_login, audit_log):
    """After password and code, the Admin can change a role on the user form."""
    enrol(admin_user)
    viewer = make_user("viewer@example.com")
    verified_login(client, admin_user, reauthenticated=False)
    url = f"/admin/accounts/user/{viewer.pk}/change/"

    client.post(reverse("reauthenticate"), {"password": PASSWORD, "code": totp_code(EPOCH), "next": url})
    # The change form lists the password hash field, so a save posts it back unchanged.
    form = {"email": viewer.email, "full_name": "", "role": "editor", "is_active": "on", "password": viewer.password}
    response = client.post(url, form)

    assert response.status_code == 302, response.content
    assert [r["details"]["new_role"] for r in audit_log.records("role_changed") if r["target"]["id"] == viewer.pk][
        -1
    ] == "editor"


def test_reset_command(enrolled_user, audit_log):
    """manage.py users reset-2fa turns 2FA off and is recorded without an actor."""
    call_command("users", "reset-2fa", "ALICE@example.com")

    assert not TOTPDevice.objects.filter(user=enrolled_user).exists()
    [record] = audit_log.records("two_fa_disabled")
    assert record["actor"] is None
    assert record["target"]["email"] == enrolled_user.email


def test_reset_command_errors(make_user):
    """reset-2fa fails with a clear error for an unknown email and for a user without 2FA."""
    make_user("plain@example.com")

    with pytest.raises(CommandError, match="No user has the email address 'nobody@example.com'"):
        call_command("users", "reset-2fa", "nobody@example.com")
    with pytest.raises(CommandError, match="has no two-factor authentication"):
        call_command("users", "reset-2fa", "plain@example.com")


def test_reset_user_signs_in_with_password(clock, client, enrolled_user):
    """After a reset the user signs in with the password alone."""
    call_command("users", "reset-2fa", enrolled_user.email)

    response = sign_in_with_password(client, enrolled_user.email)

    assert response["Location"] == reverse("home")
    assert submit_code(client, totp_code(EPOCH)).status_code == 302


def test_admin_without_password_can_set_one(client, make_user):
    """An Admin without a password, who cannot re-authenticate yet, may open the set-password page."""
    admin = make_user("social-admin@example.com", password=None, role="admin")
    client.force_login(admin)

    reauth = client.get(reverse("reauthenticate"))

    assert reverse("account_set_password").encode() in reauth.content
    assert client.get(reverse("account_set_password")).status_code == 200
    assert client.get(reverse("home"))["Location"] == ENROL
