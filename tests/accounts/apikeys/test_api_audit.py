"""GET /api/audit: the filters of ``manage.py audit query``, its permission and its own audit record."""

import io
import json

import pytest
import time_machine
from django.core.management import call_command

from audit.recorder import record_event

pytestmark = pytest.mark.django_db

T0 = "2026-03-01T12:00:00+00:00"


@pytest.fixture
def admin_key(admin_user, make_key):
    return make_key(admin_user, name="audit reader", scopes=["audit.view"])


@pytest.fixture
def seeded(admin_user, viewer, audit_log):
    """A log of six records an hour apart from T0: sign-ins and failures from two networks.

    The users exist before the log is set up, so their creation is not in it.
    """
    rows = [
        ("login_success", viewer, "192.0.2.10"),
        ("login_failure", None, "198.51.100.7"),
        ("login_failure", None, "192.0.2.11"),
        ("logout", viewer, "192.0.2.10"),
        ("login_success", admin_user, "198.51.100.8"),
        ("role_changed", admin_user, "198.51.100.8"),
    ]
    with time_machine.travel(T0, tick=False) as clock:
        for event, actor, ip in rows:
            target = {"type": "user", "id": viewer.pk, "email": viewer.email} if actor is None else None
            record_event(event, actor=actor, target=target, ip=ip)
            clock.shift(3600)
    return audit_log


def get_audit(client, raw, query=""):
    return client.get(f"/api/audit{query}", HTTP_AUTHORIZATION=f"Bearer {raw}")


def command_query(*args: str) -> list[dict]:
    stdout = io.StringIO()
    call_command("audit", "query", "--json", *args, stdout=stdout, stderr=io.StringIO())
    return json.loads(stdout.getvalue())


def test_newest_first_with_page_fields(key_client, admin_key, seeded):
    """Without filters the newest records come first, with count, limit, offset and has_more."""
    response = get_audit(key_client, admin_key.raw, "?limit=4")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert [record["event"] for record in body["records"]] == ["role_changed", "login_success", "logout",
                                                                "login_failure"]
    assert body["count"] == 4
    assert body["limit"] == 4
    assert body["offset"] == 0
    assert body["has_more"] is True
    assert body["unreadable_lines"] == 0


def test_offset_pages_through(key_client, admin_key, seeded):
    """offset skips matches; the last page has has_more false."""
    body = get_audit(key_client, admin_key.raw, "?limit=4&offset=4").json()

    assert [record["event"] for record in body["records"]] == ["login_failure", "login_success"]
    assert body["has_more"] is False


@pytest.mark.parametrize("query,args", [
    ("?event=login_failure", ["--event", "login_failure"]),
    ("?event=login_failure,logout", ["--event", "login_failure,logout"]),
    ("?ip=192.0.2.0/24", ["--ip", "192.0.2.0/24"]),
    ("?user=viewer@example.com", ["--user", "viewer@example.com"]),
    ("?since=2026-03-01T13:30:00Z&until=2026-03-01T15:30:00Z",
     ["--since", "2026-03-01T13:30:00Z", "--until", "2026-03-01T15:30:00Z"]),
    ("?event=login_success&ip=198.51.100.0/24", ["--event", "login_success", "--ip", "198.51.100.0/24"]),
])
def test_filters_match_command(key_client, admin_key, seeded, query, args):
    """Each filter returns exactly the records that ``manage.py audit query`` returns for it."""
    api_records = get_audit(key_client, admin_key.raw, query).json()["records"]
    expected = command_query(*args)

    assert api_records == expected
    assert api_records


def test_user_filter_by_id(key_client, admin_key, seeded, admin_user):
    """user accepts a user id as well as an email, matching actor or target."""
    records = get_audit(key_client, admin_key.raw, f"?user={admin_user.pk}").json()["records"]

    assert [record["event"] for record in records] == ["role_changed", "login_success"]


def test_relative_since(key_client, admin_key, seeded):
    """since accepts a time relative to now."""
    with time_machine.travel("2026-03-01T17:30:00+00:00", tick=False):
        records = get_audit(key_client, admin_key.raw, "?since=2h").json()["records"]

    assert [record["event"] for record in records] == ["role_changed", "login_success"]


def test_read_is_recorded(key_client, admin_user, admin_key, seeded):
    """Each read appends audit_log_viewed with via "api", the filters, the count and the caller."""
    get_audit(key_client, admin_key.raw, "?event=login_failure&limit=10")

    viewed = seeded.records("audit_log_viewed")
    assert len(viewed) == 1
    assert viewed[0]["actor"] == {"id": admin_user.pk, "email": admin_user.email}
    assert viewed[0]["ip"] == "127.0.0.1"
    assert viewed[0]["details"] == {
        "via": "api", "filters": {"events": ["login_failure"], "limit": 10, "offset": 0}, "count": 2,
    }


@pytest.mark.parametrize("query,message", [
    ("?since=yesterday", "is not a time"),
    ("?since=0001-01-01", "out of range"),
    ("?until=9999-12-31T23:59:59", "out of range"),
    ("?since=2026-03-02&until=2026-03-01", "is later than until"),
    ("?event=login_sucess", "Unknown audit event"),
    ("?user=not%20an%20email", "neither a user id"),
    ("?ip=999.1.1.1", "is not an IP address"),
    ("?limit=0", "out of range"),
    ("?limit=501", "out of range"),
    ("?limit=ten", "is not a whole number"),
    ("?offset=-1", "out of range"),
])
def test_invalid_filters(key_client, admin_key, seeded, query, message):
    """Invalid filters get 400 invalid_parameter naming the value, and the read is not recorded."""
    response = get_audit(key_client, admin_key.raw, query)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_parameter"
    assert message in response.json()["error"]["message"]
    assert seeded.records("audit_log_viewed") == []


@pytest.mark.parametrize("query,code", [
    ("?severity=high", "unknown_parameter"),
    ("?event=logout&event=login_failure", "repeated_parameter"),
])
def test_unknown_or_repeated_parameters(key_client, admin_key, seeded, query, code):
    """Unknown and repeated query parameters are rejected, so a typo cannot widen the result."""
    response = get_audit(key_client, admin_key.raw, query)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code


def test_empty_log(key_client, admin_key, audit_log):
    """Before anything is logged the result is empty, and the read itself is recorded."""
    body = get_audit(key_client, admin_key.raw).json()

    assert body["records"] == []
    assert body["has_more"] is False
    assert audit_log.events() == ["audit_log_viewed"]


@pytest.mark.parametrize("role,scopes", [("viewer", None), ("editor", None), ("admin", ["users.view"])])
def test_needs_audit_view(key_client, make_user, make_key, seeded, role, scopes):
    """Without audit.view (role or key scope) the request gets 403 and no records."""
    user = make_user(f"{role}-audit@example.com", role=role)
    caller = make_key(user, scopes=scopes)
    response = get_audit(key_client, caller.raw)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert "records" not in response.json()
    assert seeded.records("audit_log_viewed") == []


def test_admin_session_reads(client, admin_user, verified_login, seeded):
    """A signed-in Admin past the second factor reads the log with the session cookie."""
    verified_login(client, admin_user)
    response = client.get("/api/audit?event=role_changed")

    assert response.status_code == 200
    assert [record["event"] for record in response.json()["records"]] == ["role_changed"]
