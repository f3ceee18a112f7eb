import re
from io import StringIO

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.passwords import set_password
from tests.accounts.helpers import PASSWORD, is_signed_in, printed_password, record_signals, sign_in

pytestmark = pytest.mark.django_db

EMAIL = "margaret.hamilton@example.com"
GOOD = "Quiet-Meadow-Lantern-7"

# Each password breaks exactly one rule of the policy.
BAD_PASSWORDS = [
    pytest.param("Ab1-xyz", "password_too_short", "This password is too short", id="short"),
    pytest.param("iloveyou", "password_too_common", "This password is too common", id="common"),
    pytest.param("Hamilton1969", "password_too_similar", "too similar to the email", id="similar-to-email"),
    pytest.param("31415926535", "password_entirely_numeric", "entirely numeric", id="numeric"),
]


@pytest.fixture
def margaret(admin_user, make_user):
    return make_user(EMAIL, role="editor")


def error_text(response) -> str:
    return response.content.decode().replace("&#x27;", "'")


@pytest.mark.parametrize("password,code,message", BAD_PASSWORDS)
def test_create_user_enforces_policy(db, password, code, message):
    """create_user rejects a password that breaks the policy and creates nobody."""
    with pytest.raises(ValidationError) as caught:
        User.objects.create_user(EMAIL, password)
    assert [error.code for error in caught.value.error_list] == [code]
    assert not User.objects.filter(email=EMAIL).exists()


@pytest.mark.parametrize("password,code,message", BAD_PASSWORDS)
def test_set_password_helper_enforces_policy(margaret, password, code, message):
    """accounts.passwords.set_password rejects a password that breaks the policy."""
    with pytest.raises(ValidationError) as caught:
        set_password(margaret, password)
    assert [error.code for error in caught.value.error_list] == [code]
    assert User.objects.get(pk=margaret.pk).check_password(PASSWORD)


@pytest.mark.parametrize("password,code,message", BAD_PASSWORDS)
def test_password_change_page_enforces_policy(client, margaret, password, code, message):
    """The password change page rejects a password that breaks the policy and keeps the old one."""
    sign_in(client, EMAIL)
    response = client.post(
        reverse("account_change_password"), {"oldpassword": PASSWORD, "password1": password, "password2": password}
    )
    assert response.status_code == 200
    assert message in error_text(response)
    assert User.objects.get(pk=margaret.pk).check_password(PASSWORD)


def open_reset_form(client) -> str:
    """Request a reset email, follow its link and return the set-password URL."""
    mail.outbox.clear()
    client.post(reverse("account_reset_password"), {"email": EMAIL})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+/)", mail.outbox[0].body).group(1)
    response = client.get(link)
    assert response.status_code == 302
    return response["Location"]


@pytest.mark.parametrize("password,code,message", BAD_PASSWORDS)
def test_password_reset_enforces_policy(margaret, password, code, message):
    """Setting a password from a reset link rejects one that breaks the policy."""
    client = Client()
    form_url = open_reset_form(client)
    response = client.post(form_url, {"password1": password, "password2": password})
    assert response.status_code == 200
    assert message in error_text(response)
    assert User.objects.get(pk=margaret.pk).check_password(PASSWORD)


def test_password_reset_with_good_password(margaret):
    """A reset with a good password sets it, signs out every session and sends password_changed."""
    laptop = Client()
    sign_in(laptop, EMAIL)
    client = Client()
    form_url = open_reset_form(client)
    with record_signals() as log:
        response = client.post(form_url, {"password1": GOOD, "password2": GOOD})
    assert response.status_code == 302
    assert User.objects.get(pk=margaret.pk).check_password(GOOD)
    assert log.only("password_changed")["reason"] == "reset"
    assert log.only("session_revoked")["reason"] == "password_changed"
    assert not is_signed_in(laptop)


@pytest.mark.parametrize("password,code,message", BAD_PASSWORDS)
def test_admin_add_form_enforces_policy(admin_client, password, code, message):
    """The admin's add form rejects a password that breaks the policy, judged against the new email."""
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {"email": EMAIL, "role": "viewer", "password1": password, "password2": password},
    )
    assert response.status_code == 200
    assert message in error_text(response)
    assert not User.objects.filter(email=EMAIL).exists()


@pytest.mark.parametrize("password,code,message", BAD_PASSWORDS)
def test_admin_set_password_enforces_policy(admin_client, margaret, password, code, message):
    """The admin's set-password form rejects a password that breaks the policy."""
    response = admin_client.post(
        f"/admin/accounts/user/{margaret.pk}/password/", {"password1": password, "password2": password}
    )
    assert response.status_code == 200
    assert message in error_text(response)
    assert User.objects.get(pk=margaret.pk).check_password(PASSWORD)


def test_similarity_uses_full_name(db):
    """A password close to the user's full name is rejected too."""
    with pytest.raises(ValidationError) as caught:
        User.objects.create_user("mh@example.com", "Hamilton1969", full_name="Margaret Hamilton")
    assert [error.code for error in caught.value.error_list] == ["password_too_similar"]


def test_command_generated_passwords_satisfy_policy(margaret):
    """Passwords generated by manage.py users create and reset-password pass the policy and sign in."""
    out = StringIO()
    call_command("users", "create", "new.person@example.com", "--role", "viewer", stdout=out)
    created = printed_password(out.getvalue())
    new_user = User.objects.get(email="new.person@example.com")
    # A fresh instance: the stored user already has this password, which the reuse rule would flag.
    validate_password(created, User(email=new_user.email))
    assert sign_in(Client(), new_user.email, created).status_code == 302

    out = StringIO()
    call_command("users", "reset-password", EMAIL, stdout=out)
    reset = printed_password(out.getvalue())
    validate_password(reset, User(email=margaret.email, full_name=margaret.full_name))
    assert sign_in(Client(), EMAIL, reset).status_code == 302


def test_generated_password_failing_policy_is_replaced(margaret, monkeypatch):
    """A generated password that happens to break the policy is never handed out."""
    from accounts import passwords

    candidates = iter(["31415926535897932384", "Zq8mVt3LpW6nRy2KcX4b"])
    monkeypatch.setattr(passwords, "_random_password", lambda: next(candidates))
    raw = passwords.reset_to_one_time_password(margaret)
    assert raw == "Zq8mVt3LpW6nRy2KcX4b"
    assert User.objects.get(pk=margaret.pk).check_password(raw)


def test_reusing_current_password_rejected_everywhere(admin_client, margaret):
    """The change page and the admin's set-password form both refuse the current password."""
    client = Client()
    sign_in(client, EMAIL)
    response = client.post(
        reverse("account_change_password"), {"oldpassword": PASSWORD, "password1": PASSWORD, "password2": PASSWORD}
    )
    assert "must be different from the current one" in error_text(response)

    response = admin_client.post(
        f"/admin/accounts/user/{margaret.pk}/password/", {"password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 200
    assert "must be different from the current one" in error_text(response)
    assert not User.objects.get(pk=margaret.pk).must_change_password


def test_reuse_check_does_not_save_user(margaret):
    """Validating against the current password never writes the user row."""
    from django.contrib.auth.hashers import make_password

    # A PBKDF2 hash would be upgraded to Argon2 by user.check_password.
    User.objects.filter(pk=margaret.pk).update(password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
    margaret.refresh_from_db()
    stored = margaret.password
    with pytest.raises(ValidationError):
        validate_password(PASSWORD, margaret)
    assert User.objects.get(pk=margaret.pk).password == stored
