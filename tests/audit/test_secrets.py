"""No secret reaches the audit log, and no input can forge or split a record."""

import io
import json
import re

import pytest
from django.core import mail
from django.contrib.auth.views import LoginView
from django.core.management import call_command
from django.test import Client
from django.urls import path

from audit.recorder import record_event
from audit.verify import verify_chain
from dango_site import urls as site_urls

pytestmark = pytest.mark.django_db

PASSWORD = "Canary-Initial-Pass-1"
CANARIES = {
    "wrong password": "Canary-Wrong-Pass-2",
    "password in email field": "Canary-Typed-In-Login-3",
    "new password": "Canary-Changed-Pass-4",
    "reset password": "Canary-Reset-Pass-5",
    "admin-set password": "Canary-Admin-Set-Pass-6",
}
FORGED = '\n{"seq": 999, "event": "login_success", "actor": {"id": 1}}\r\n'

# Django's own login view passes any user name to authenticate(), and a
# project that embeds the audit app may use it. The site's sign-in form
# rejects a name that is not an email address before checking a password.
urlpatterns = [path("plain-login/", LoginView.as_view(template_name="account/login.html")), *site_urls.urlpatterns]


def assert_absent(log_text: str, secret: str, label: str) -> None:
    assert secret not in log_text, f"{label} appears in the audit log"
    assert secret.lower() not in log_text.lower(), f"{label} appears in the audit log in another case"


def test_secret_canaries_stay_out_of_log(audit_log, make_user, admin_user, verified_login):
    """Passwords, reset keys, one-time passwords and cookies fed through every path never reach the log."""
    user = make_user("canary@example.com", password=PASSWORD)
    client = Client(REMOTE_ADDR="192.0.2.50")
    secrets_seen = dict(CANARIES, **{"initial password": PASSWORD})

    # Sign-in: wrong password, a password typed into the email field, both login pages, then success.
    # The admin login page sends every attempt to the site sign-in without checking it.
    client.post("/accounts/login/", {"login": "canary@example.com", "password": CANARIES["wrong password"]})
    typed_in = client.post("/accounts/login/", {"login": CANARIES["password in email field"], "password": PASSWORD})
    assert typed_in.status_code == 200
    assert typed_in.context["form"].errors["login"]
    for username, password in [(CANARIES["password in email field"], PASSWORD),
                               ("canary@example.com", CANARIES["wrong password"])]:
        response = client.post("/admin/login/", {"username": username, "password": password})
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")
    client.post("/accounts/login/", {"login": "canary@example.com", "password": PASSWORD})
    secrets_seen["session cookie"] = client.cookies["sessionid"].value
    secrets_seen["csrf cookie"] = client.cookies["csrftoken"].value if "csrftoken" in client.cookies else "absent-csrf"

    # Password change by the owner.
    response = client.post("/accounts/password/change/", {
        "oldpassword": PASSWORD, "password1": CANARIES["new password"], "password2": CANARIES["new password"],
    })
    assert response.status_code == 302

    # Password reset through the emailed link.
    anonymous = Client(REMOTE_ADDR="192.0.2.51")
    anonymous.post("/accounts/password/reset/", {"email": "canary@example.com"})
    link = re.search(r"https?://testserver(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body).group(1)
    secrets_seen["reset key"] = link.rstrip("/").rsplit("-", 1)[-1]
    form_page = anonymous.get(link, follow=True)
    response = anonymous.post(form_page.request["PATH_INFO"], {
        "password1": CANARIES["reset password"], "password2": CANARIES["reset password"],
    })
    assert response.status_code == 302

    # An Admin sets the password, then the command line issues a one-time password.
    admin = Client(REMOTE_ADDR="192.0.2.52")
    verified_login(admin, admin_user)
    response = admin.post(f"/admin/accounts/user/{user.pk}/password/", {
        "password1": CANARIES["admin-set password"], "password2": CANARIES["admin-set password"],
    })
    assert response.status_code == 302
    output = io.StringIO()
    call_command("users", "reset-password", "canary@example.com", stdout=output)
    secrets_seen["one-time password"] = output.getvalue().strip().rsplit(" ", 1)[-1]

    events = audit_log.events()
    for expected in ("login_failure", "login_success", "password_changed", "password_reset_completed"):
        assert expected in events
    log_text = audit_log.path.read_text()
    for label, secret in secrets_seen.items():
        assert len(secret) >= 8, label
        assert_absent(log_text, secret, label)
    # Only the wrong password reached a password check, because the form
    # rejected the value typed into the email field.
    failures = audit_log.records("login_failure")
    assert [record["target"] for record in failures] == [{"type": "user", "id": None, "email": "canary@example.com"}]
    assert failures[0]["details"] == {"reason": "invalid_credentials"}


def test_secret_looking_detail_keys_dropped(audit_log):
    """Detail keys that name a password, token, key or secret are dropped, at any depth."""
    record = record_event("security_settings_changed", details={
        "password": "Canary-Detail-1", "api_token": "Canary-Detail-2", "nested": {"client_secret": "Canary-Detail-3"},
        "setting": "lockout_failures", "key_prefix": "dng_ab12",
    })

    assert record["details"] == {"nested": {}, "setting": "lockout_failures", "key_prefix": "dng_ab12"}
    assert "Canary-Detail" not in audit_log.path.read_text()


def test_forged_user_agent_stays_in_one_record(audit_log, make_user):
    """A user agent carrying newlines and a JSON fragment is escaped inside one line."""
    make_user("dora@example.com")
    client = Client(REMOTE_ADDR="192.0.2.60", HTTP_USER_AGENT="Evil/1.0" + FORGED + "\x1b[2J\u2028tail")

    client.post("/accounts/login/", {"login": "dora@example.com", "password": "Wrong-Password-9"})

    raw = audit_log.path.read_bytes()
    assert raw.count(b"\n") == len(audit_log.records())
    assert all(32 <= byte < 127 for line in raw.splitlines() for byte in line)
    record = audit_log.records("login_failure")[0]
    assert record["user_agent"] == "Evil/1.0" + FORGED + "\x1b[2J\u2028tail"
    assert "\\n{\\\"seq\\\": 999" in raw.decode()
    assert [entry["seq"] for entry in audit_log.records()] == list(range(1, len(audit_log.records()) + 1))
    assert verify_chain(audit_log.path).ok


@pytest.mark.urls(__name__)
def test_forged_email_is_not_recorded(audit_log):
    """A login name with a newline and a JSON fragment is not an email address, so it is left out."""
    client = Client(REMOTE_ADDR="192.0.2.61")

    client.post("/plain-login/", {"username": "mallory@example.com" + FORGED, "password": "whatever-1"})

    assert len(audit_log.records("login_failure")) == 1
    record = audit_log.records("login_failure")[0]
    assert record["target"]["email"] is None
    assert record["details"] == {"reason": "not_an_email"}
    assert b"999" not in audit_log.path.read_bytes()


def test_forged_email_rejected_by_sign_in(audit_log):
    """The sign-in form rejects a login name with a newline and a JSON fragment, and nothing records it."""
    client = Client(REMOTE_ADDR="192.0.2.61")

    response = client.post("/accounts/login/", {"login": "mallory@example.com" + FORGED, "password": "whatever-1"})

    assert response.status_code == 200
    assert response.context["form"].errors["login"]
    assert audit_log.records("login_failure") == []
    assert not audit_log.path.exists() or b"999" not in audit_log.path.read_bytes()


def test_forged_detail_values_are_escaped(audit_log):
    """Control characters and line separators in any field are written as JSON escapes."""
    record_event("permission_denied", target={"type": "path", "path": "/a" + FORGED},
                 details={"permission": "x\x00\x07\u2029" + FORGED})

    lines = audit_log.path.read_bytes().splitlines()
    assert len(lines) == 1
    assert b"\\u0000\\u0007\\u2029\\n" in lines[0]
    assert json.loads(lines[0])["target"]["path"] == "/a" + FORGED


def test_client_request_id_header_is_ignored(audit_log, make_user):
    """The request id is generated by the server; a client's X-Request-ID cannot set it."""
    make_user("dora@example.com")
    client = Client(REMOTE_ADDR="192.0.2.62", HTTP_X_REQUEST_ID="forged\nid")

    response = client.post("/accounts/login/", {"login": "dora@example.com", "password": "Wrong-Password-9"})

    record = audit_log.records("login_failure")[0]
    assert record["request_id"] == response["X-Request-ID"]
    assert record["request_id"] != "forged\nid"
