import stat
from base64 import b32decode
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP

from accounts.models import User
from rbac.assignment import get_role
from rbac.roles import Role
from tests.accounts.helpers import printed_password, run_manage, sign_in
from tests.accounts.two_factor.conftest import EPOCH

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Quiet-Meadow-Lantern-7"
JSON = {"HTTP_ACCEPT": "application/json"}


def bootstrap(*args) -> str:
    out = StringIO()
    call_command("bootstrap", "--skip-migrate", *args, stdout=out)
    return out.getvalue()


def test_bootstrap_in_fresh_folder(tmp_path):
    """The first run writes a 0600 secret key, creates the Admin and prints its password once; the second keeps both."""
    first = run_manage(tmp_path, "bootstrap")
    assert first.returncode == 0, first.stderr

    key_file = tmp_path / ".dango" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert len(key_file.read_text().strip()) >= 50
    assert (tmp_path / ".dango" / "dango.sqlite3").exists()
    assert "email:    admin@localhost" in first.stdout
    password = printed_password(first.stdout)
    assert password not in first.stderr
    key = key_file.read_text()

    second = run_manage(tmp_path, "bootstrap")
    assert second.returncode == 0, second.stderr
    assert "An active Admin exists; no account was created." in second.stdout
    assert password not in second.stdout
    assert "password:" not in second.stdout
    assert key_file.read_text() == key


def test_bootstrap_admin_email_from_environment(tmp_path):
    """DANGO_ADMIN_EMAIL names the first Admin."""
    result = run_manage(tmp_path, "bootstrap", extra_env={"DANGO_ADMIN_EMAIL": "Ops@Example.com"})
    assert result.returncode == 0, result.stderr
    assert "email:    ops@example.com" in result.stdout


def test_bootstrap_creates_admin_once(db):
    """bootstrap creates one Admin who must change the password, and nothing on a second run."""
    output = bootstrap()
    admin = User.objects.get(email="admin@localhost")
    assert get_role(admin) is Role.ADMIN
    assert admin.is_staff
    assert admin.must_change_password
    assert admin.check_password(printed_password(output))
    assert "no account was created" in bootstrap()
    assert User.objects.count() == 1


def test_bootstrap_refuses_existing_non_admin(make_user):
    """When the Admin email belongs to a non-Admin, bootstrap says how to promote them and creates nobody."""
    make_user("ops@example.com", role="viewer")
    with pytest.raises(CommandError, match="manage.py users set-role ops@example.com admin"):
        bootstrap("--admin-email", "ops@example.com")
    assert User.objects.count() == 1


@pytest.fixture
def first_admin(db):
    output = bootstrap()
    return User.objects.get(email="admin@localhost"), printed_password(output)


def test_first_sign_in_forces_password_change(first_admin):
    """Until the new password is set, every page redirects to the change page and JSON gets 403."""
    _, password = first_admin
    client = Client()
    response = sign_in(client, "admin@localhost", password)
    assert response.status_code == 302

    for url in ["/", "/account/", "/admin/", "/admin/accounts/user/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == reverse("account_change_password"), url

    response = client.get("/", **JSON)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "password_change_required"

    assert client.get(reverse("account_change_password")).status_code == 200


@time_machine.travel(EPOCH, tick=False)
def test_after_change_normal_access(first_admin):
    """After choosing a new password and turning on 2FA, the first Admin uses the site and the admin normally."""
    admin, password = first_admin
    client = Client()
    sign_in(client, "admin@localhost", password)
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": password, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    admin.refresh_from_db()
    assert not admin.must_change_password

    # Admins must have two-factor authentication: until it is on, every page leads to enrolment.
    enrol_url = reverse("two_factor_enable")
    for url in ["/", "/admin/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == enrol_url, url
    confirmed = client.post(reverse("reauthenticate"), {"password": NEW_PASSWORD, "next": enrol_url})
    assert confirmed["Location"] == enrol_url
    secret = client.get(enrol_url).context["secret"]
    totp = TOTP(b32decode(secret.replace(" ", "")), step=30, digits=6)
    totp.time = EPOCH
    assert client.post(enrol_url, {"code": f"{totp.token():06d}"}).status_code == 200

    assert client.get("/").status_code == 200
    assert client.get("/admin/").status_code == 200
    assert client.get("/", **JSON).status_code == 200


def test_one_time_password_rejected_as_new_password(first_admin):
    """Keeping the one-time password is not a change: the same password is refused."""
    _, password = first_admin
    client = Client()
    sign_in(client, "admin@localhost", password)
    response = client.post(
        reverse("account_change_password"), {"oldpassword": password, "password1": password, "password2": password}
    )
    assert response.status_code == 200
    assert client.get("/").status_code == 302


def test_sign_out_allowed_during_forced_change(first_admin):
    """A user who must change the password can still sign out."""
    _, password = first_admin
    client = Client()
    sign_in(client, "admin@localhost", password)
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_forced_change_without_usable_password(make_user):
    """A user with no usable password who must set one reaches the set-password page and can use it."""
    make_user("admin@example.com", role="admin")
    user = make_user("invitee@example.com", password=None, must_change_password=True)
    client = Client()
    client.force_login(user)
    response = client.get("/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("account_set_password")
    response = client.post(reverse("account_set_password"), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert not User.objects.get(pk=user.pk).must_change_password
