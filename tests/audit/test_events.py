"""Every event whose feature exists is triggered through its real code path and its record checked."""

import io
import re
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.http import HttpResponse
from django.test import Client
from django.urls import path

from accounts.models import User, UserSession
from dango_site import urls as site_urls
from rbac.decorators import permission_required
from rbac.permissions import PERMISSIONS
from rbac.sync import sync_roles

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-Horse-42"
IP = "192.0.2.44"
LONG_USER_AGENT = "Mozilla/5.0 " + "x" * 400
TS_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")


@permission_required("audit.view")
def guarded_view(request):
    return HttpResponse("secret page")


# The site's pages stay reachable because the 403 page links to them.
urlpatterns = [path("guarded/", guarded_view), *site_urls.urlpatterns]


def web_client() -> Client:
    return Client(REMOTE_ADDR=IP, HTTP_USER_AGENT=LONG_USER_AGENT)


def sign_in(client: Client, email: str, password: str = PASSWORD):
    return client.post("/accounts/login/", {"login": email, "password": password})


def only(audit_log, event: str) -> dict:
    records = audit_log.records(event)
    assert len(records) == 1, f"expected one {event} record, found {len(records)}: {audit_log.events()}"
    return records[0]


def user_ref(user) -> dict:
    return {"type": "user", "id": user.pk, "email": user.email}


def actor_ref(user) -> dict:
    return {"id": user.pk, "email": user.email}


def assert_request_fields(record: dict, response) -> None:
    assert TS_FORMAT.match(record["ts"]), record["ts"]
    assert record["ip"] == IP
    assert record["user_agent"] == LONG_USER_AGENT[:256]
    assert record["request_id"] == response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", record["request_id"])


def assert_recent(record: dict) -> None:
    written = datetime.strptime(record["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs(datetime.now(timezone.utc) - written) < timedelta(minutes=5)


# Sign-in


def test_login_success(audit_log, make_user):
    """Signing in records login_success with the user as actor and target."""
    user = make_user("dora@example.com")
    client = web_client()

    response = sign_in(client, "dora@example.com")

    assert response.status_code == 302
    record = only(audit_log, "login_success")
    assert record["actor"] == actor_ref(user)
    assert record["target"] == user_ref(user)
    assert record["details"] == {"backend": "django.contrib.auth.backends.ModelBackend"}
    assert_request_fields(record, response)
    assert_recent(record)


def test_login_failure(audit_log, make_user):
    """A wrong password records login_failure naming the submitted email, with no actor."""
    make_user("dora@example.com")

    response = sign_in(web_client(), "Dora@Example.com", "Wrong-Password-1")

    record = only(audit_log, "login_failure")
    assert record["actor"] is None
    assert record["target"] == {"type": "user", "id": None, "email": "dora@example.com"}
    assert record["details"] == {"reason": "invalid_credentials"}
    assert_request_fields(record, response)


def test_login_failure_while_locked(audit_log, make_user):
    """An attempt refused by an active lockout is a login_failure with reason "locked"."""
    make_user("dora@example.com")
    client = web_client()
    for attempt in range(5):
        sign_in(client, "dora@example.com", f"Wrong-Password-{attempt}")

    response = sign_in(client, "dora@example.com")

    failures = audit_log.records("login_failure")
    assert [record["details"]["reason"] for record in failures] == ["invalid_credentials"] * 5 + ["locked"]
    assert_request_fields(failures[-1], response)
    assert audit_log.events().count("account_locked") == 1


def test_account_locked(audit_log, make_user):
    """The fifth failure locks the (email, IP) pair and records account_locked once."""
    make_user("dora@example.com")
    client = web_client()

    responses = [sign_in(client, "dora@example.com", f"Wrong-Password-{attempt}") for attempt in range(5)]

    assert responses[-1].status_code == 429
    record = only(audit_log, "account_locked")
    assert record["actor"] is None
    assert record["target"] == {"type": "user", "id": None, "email": "dora@example.com"}
    assert record["details"] == {"failures": 5}
    assert_request_fields(record, responses[-1])


def test_logout(audit_log, make_user):
    """Signing out records logout with the user as actor."""
    user = make_user("dora@example.com")
    client = web_client()
    sign_in(client, "dora@example.com")

    response = client.post("/accounts/logout/")

    record = only(audit_log, "logout")
    assert record["actor"] == actor_ref(user)
    assert record["target"] == user_ref(user)
    assert record["details"] == {}
    assert_request_fields(record, response)


def test_session_expired(audit_log, make_user, settings):
    """A request after the idle timeout records session_expired with reason "idle"."""
    user = make_user("dora@example.com")
    client = web_client()
    start = datetime(2026, 5, 4, 9, 0, tzinfo=timezone.utc)
    with time_machine.travel(start, tick=False):
        sign_in(client, "dora@example.com")
    with time_machine.travel(start + timedelta(seconds=settings.DANGO_SESSION_IDLE_TIMEOUT + 1), tick=False):
        response = client.get("/")

    assert response.status_code == 302
    record = only(audit_log, "session_expired")
    assert record["ts"] == "2026-05-04T10:00:01.000000Z"
    assert record["actor"] == actor_ref(user)
    assert record["target"] == user_ref(user)
    assert record["details"] == {"reason": "idle"}
    assert_request_fields(record, response)


def test_session_revoked(audit_log, make_user):
    """Signing out another session records session_revoked naming that session."""
    user = make_user("dora@example.com")
    laptop, phone = web_client(), Client(REMOTE_ADDR="198.51.100.7")
    sign_in(laptop, "dora@example.com")
    sign_in(phone, "dora@example.com")
    phone_session = UserSession.objects.get(user=user, ip_address="198.51.100.7")

    response = laptop.post(f"/account/sessions/{phone_session.pk}/revoke/")

    assert response.status_code == 302
    record = only(audit_log, "session_revoked")
    assert record["actor"] == actor_ref(user)
    assert record["target"] == user_ref(user)
    assert record["details"] == {"reason": "revoked", "session_id": phone_session.pk, "ip": "198.51.100.7"}
    assert_request_fields(record, response)


# Passwords


def test_password_changed(audit_log, make_user):
    """Changing one's own password records password_changed with reason "self"."""
    user = make_user("dora@example.com")
    client = web_client()
    sign_in(client, "dora@example.com")

    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": "Brand-New-Horse-77", "password2": "Brand-New-Horse-77"},
    )

    assert response.status_code == 302
    record = only(audit_log, "password_changed")
    assert record["actor"] == actor_ref(user)
    assert record["target"] == user_ref(user)
    assert record["details"] == {"reason": "self"}
    assert_request_fields(record, response)


def test_password_set_by_admin(audit_log, make_user, admin_user, verified_login):
    """An Admin setting someone's password records password_changed with the Admin as actor."""
    user = make_user("dora@example.com")
    client = web_client()
    verified_login(client, admin_user)

    response = client.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"password1": "Admin-Chosen-Horse-5", "password2": "Admin-Chosen-Horse-5"},
    )

    assert response.status_code == 302
    record = only(audit_log, "password_changed")
    assert record["actor"] == actor_ref(admin_user)
    assert record["target"] == user_ref(user)
    assert record["details"] == {"reason": "admin"}
    assert_request_fields(record, response)


def test_password_reset_completed(audit_log, make_user):
    """Setting a password from an emailed reset link records password_reset_completed."""
    user = make_user("dora@example.com")
    client = web_client()
    client.post("/accounts/password/reset/", {"email": "dora@example.com"})
    link = re.search(r"https?://testserver(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body).group(1)
    form_page = client.get(link, follow=True)

    response = client.post(form_page.request["PATH_INFO"], {
        "password1": "Reset-Horse-Battery-3", "password2": "Reset-Horse-Battery-3",
    })

    assert response.status_code == 302
    record = only(audit_log, "password_reset_completed")
    assert record["actor"] == actor_ref(user)
    assert record["target"] == user_ref(user)
    assert record["details"] == {"reason": "reset"}
    assert_request_fields(record, response)
    assert "password_changed" not in audit_log.events()


# Users and roles


def test_user_created_in_admin(audit_log, admin_user, verified_login):
    """Adding a user in the admin records user_created and role_changed with the Admin as actor."""
    client = web_client()
    verified_login(client, admin_user)

    response = client.post("/admin/accounts/user/add/", {
        "email": "new@example.com", "full_name": "", "role": "editor",
        "password1": "Fresh-Horse-Battery-9", "password2": "Fresh-Horse-Battery-9", "must_change_password": "on",
    })

    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    created = [record for record in audit_log.records("user_created") if record["target"]["id"] == user.pk][0]
    assert created["actor"] == actor_ref(admin_user)
    assert created["target"] == user_ref(user)
    assert_request_fields(created, response)
    role = [record for record in audit_log.records("role_changed") if record["target"]["id"] == user.pk]
    assert len(role) == 1
    assert role[0]["actor"] == actor_ref(admin_user)
    assert role[0]["details"] == {"old_role": None, "new_role": "editor"}
    assert_request_fields(role[0], response)


def test_role_changed_in_admin(audit_log, make_user, admin_user, verified_login):
    """Changing a role in the admin records role_changed with old and new role."""
    user = make_user("dora@example.com", role="viewer")
    client = web_client()
    verified_login(client, admin_user)
    audit_log.path.unlink()

    # The change form shows the stored password hash in a "password" field and
    # requires it back, as a browser would submit it.
    response = client.post(f"/admin/accounts/user/{user.pk}/change/", {
        "email": "dora@example.com", "full_name": "", "password": user.password, "role": "editor",
        "is_active": "on",
    })

    assert response.status_code == 302, response.context["adminform"].form.errors
    record = only(audit_log, "role_changed")
    assert record["actor"] == actor_ref(admin_user)
    assert record["target"] == user_ref(user)
    assert record["details"] == {"old_role": "viewer", "new_role": "editor"}
    assert_request_fields(record, response)


def test_role_changed_from_command(audit_log, make_user):
    """``manage.py users set-role`` records role_changed with no actor, IP or request id."""
    user = make_user("dora@example.com", role="viewer")

    call_command("users", "set-role", "dora@example.com", "admin", stdout=io.StringIO())

    record = audit_log.records("role_changed")[-1]
    assert record["actor"] is None
    assert record["target"] == user_ref(user)
    assert record["details"] == {"old_role": "viewer", "new_role": "admin"}
    assert record["ip"] is None
    assert record["request_id"] is None


def test_role_permissions_changed(audit_log):
    """Syncing a drifted role group records role_permissions_changed with what was restored."""
    editor = Group.objects.get(name="Editor")
    editor.permissions.remove(editor.permissions.get(codename=PERMISSIONS["dbt.run"].codename))

    sync_roles()

    record = only(audit_log, "role_permissions_changed")
    assert record["actor"] is None
    assert record["target"] == {"type": "role", "name": "editor"}
    assert record["details"] == {"added": ["dbt.run"], "removed": []}


@pytest.mark.urls("tests.audit.test_events")
def test_permission_denied(audit_log, make_user):
    """A signed-in user refused by permission_required records permission_denied."""
    user = make_user("eddie@example.com", role="editor")
    client = web_client()
    client.force_login(user)

    response = client.get("/guarded/")

    assert response.status_code == 403
    record = only(audit_log, "permission_denied")
    assert record["actor"] == actor_ref(user)
    assert record["target"] == {"type": "path", "path": "/guarded/"}
    assert record["details"] == {"permission": "audit.view", "method": "GET"}
    assert_request_fields(record, response)


def test_user_deactivated_and_reactivated(audit_log, make_user, admin_user, verified_login):
    """The admin's deactivate and reactivate actions record one event each."""
    user = make_user("dora@example.com")
    client = web_client()
    verified_login(client, admin_user)

    deactivate = client.post("/admin/accounts/user/", {"action": "deactivate_users", "_selected_action": [user.pk]})
    reactivate = client.post("/admin/accounts/user/", {"action": "reactivate_users", "_selected_action": [user.pk]})

    deactivated = only(audit_log, "user_deactivated")
    reactivated = only(audit_log, "user_reactivated")
    for record, response in [(deactivated, deactivate), (reactivated, reactivate)]:
        assert record["actor"] == actor_ref(admin_user)
        assert record["target"] == user_ref(user)
        assert_request_fields(record, response)


def test_user_deleted(audit_log, make_user, admin_user, verified_login):
    """Deleting a user in the admin records user_deleted with the id and email of the removed row."""
    user = make_user("dora@example.com")
    user_id = user.pk
    client = web_client()
    verified_login(client, admin_user)

    response = client.post(f"/admin/accounts/user/{user_id}/delete/", {"post": "yes"})

    assert response.status_code == 302
    record = only(audit_log, "user_deleted")
    assert record["actor"] == actor_ref(admin_user)
    assert record["target"] == {"type": "user", "id": user_id, "email": "dora@example.com"}
    assert_request_fields(record, response)


def test_user_created_from_command(audit_log):
    """``manage.py users create`` records user_created with no actor."""
    call_command("users", "create", "cli@example.com", "--role", "viewer", stdout=io.StringIO())

    record = only(audit_log, "user_created")
    assert record["actor"] is None
    assert record["target"]["email"] == "cli@example.com"
    assert record["user_agent"] == ""


# The audit log itself


def test_audit_log_viewed_from_command(audit_log, make_user):
    """``manage.py audit query`` records audit_log_viewed with the filters and the OS account."""
    make_user("dora@example.com")

    call_command("audit", "query", "--event", "user_created", "--limit", "5", stdout=io.StringIO(),
                 stderr=io.StringIO())

    record = only(audit_log, "audit_log_viewed")
    assert record["actor"] is None
    assert record["ip"] is None
    assert record["details"]["via"] == "query"
    assert record["details"]["filters"] == {"events": ["user_created"], "limit": 5}
    assert record["details"]["count"] == 1
    assert record["details"]["os_user"]


def test_audit_log_viewed_in_admin(audit_log, admin_user, verified_login):
    """Opening the admin viewer records audit_log_viewed with the Admin as actor."""
    client = web_client()
    verified_login(client, admin_user)

    response = client.get("/admin/audit/auditrecord/", {"event": "user_created"})

    assert response.status_code == 200
    record = only(audit_log, "audit_log_viewed")
    assert record["actor"] == actor_ref(admin_user)
    assert record["details"] == {"via": "admin", "filters": {"events": ["user_created"], "page": 1}, "count": 1}
    assert_request_fields(record, response)
