import csv
import io

import pytest
from django.test import Client

from audit.writer import AuditWriter
from tests.audit.conftest import FixedClock, make_record

pytestmark = pytest.mark.django_db

VIEWER_URL = "/admin/audit/auditrecord/"
DOWNLOAD_URL = "/admin/audit/auditrecord/download/"


@pytest.fixture
def filled_log(audit_log, admin_client):
    """120 records: every third a login_failure from 203.0.113.9 against bob, the rest logouts by alice."""
    # Creating and signing in the Admin wrote records; start from an empty log.
    audit_log.path.unlink()
    writer = AuditWriter(audit_log.path, fsync=False, clock=FixedClock("2026-04-01T00:00:00"))
    for index in range(120):
        if index % 3 == 0:
            writer.append(make_record("login_failure", ip="203.0.113.9",
                                      target={"type": "user", "id": None, "email": "bob@example.com"},
                                      details={"index": index}))
        else:
            writer.append(make_record("logout", ip="192.0.2.1", actor={"id": 3, "email": "alice@example.com"},
                                      target={"type": "user", "id": 3, "email": "alice@example.com"},
                                      details={"index": index}))
    return audit_log


def shown_seqs(response) -> list[int]:
    return [row["seq"] for row in response.context["rows"]]


def test_admin_sees_newest_page(filled_log, admin_client):
    """An Admin sees the newest 50 records and a link to older ones."""
    response = admin_client.get(VIEWER_URL)

    assert response.status_code == 200
    assert shown_seqs(response) == list(range(120, 70, -1))
    assert response.context["older_query"] == "p=2"
    assert response.context["newer_query"] is None
    assert b"alice@example.com" in response.content


def test_pages_continue_to_oldest(filled_log, admin_client):
    """The third page holds the 20 oldest records and no older link."""
    response = admin_client.get(VIEWER_URL, {"p": "3"})

    assert shown_seqs(response) == list(range(20, 0, -1))
    assert response.context["older_query"] is None
    assert response.context["newer_query"] == "p=2"


def test_filters_by_event_user_ip_and_time(filled_log, admin_client):
    """Event, user, IP and time filters narrow the page and stay in the page links."""
    response = admin_client.get(VIEWER_URL, {
        "event": "login_failure", "user": "bob@example.com", "ip": "203.0.113.0/24",
        "since": "2026-04-01T00:00:30Z", "until": "2026-04-01T00:01:30Z",
    })

    assert response.status_code == 200
    assert shown_seqs(response) == list(range(91, 30, -3))
    assert "event=login_failure" in response.context["download_query"]


def test_filter_by_user_id(filled_log, admin_client):
    """A user id matches records whose actor or target has that id."""
    response = admin_client.get(VIEWER_URL, {"user": "3", "p": "2"})

    assert len(shown_seqs(response)) == 30
    assert all(seq % 3 != 1 for seq in shown_seqs(response))


@pytest.mark.parametrize(
    "params,message",
    [
        ({"since": "last week"}, "since &#x27;last week&#x27; is not a time"),
        ({"ip": "999.1.1.1"}, "is not an IP address"),
        ({"user": "bob"}, "neither a user id"),
        ({"event": "nope"}, "Select a valid choice"),
        ({"p": "0"}, "greater than or equal to 1"),
        ({"p": "abc"}, "Enter a whole number"),
    ],
)
def test_bad_filters_show_errors(filled_log, admin_client, params, message):
    """A bad filter value answers 400 with the reason on the page and lists no records."""
    response = admin_client.get(VIEWER_URL, params)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert response.context["rows"] == []


def test_download_jsonl_matches_filter(filled_log, admin_client):
    """The JSONL download holds every filtered record, oldest first, as written."""
    lines = filled_log.path.read_text().splitlines()

    response = admin_client.get(DOWNLOAD_URL, {"event": "login_failure", "format": "jsonl"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    assert 'attachment; filename="audit-' in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines() == [line for line in lines if '"event":"login_failure"' in line]


def test_download_csv(filled_log, admin_client):
    """The CSV download has a header and one row per filtered record."""
    response = admin_client.get(DOWNLOAD_URL, {"ip": "192.0.2.1", "format": "csv"})

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["seq", "ts", "event"]
    assert len(rows) == 1 + 80
    assert rows[1][2] == "logout"
    assert rows[1][4] == "alice@example.com"


def test_download_rejects_bad_input(filled_log, admin_client):
    """An unknown format or a bad filter answers 400 with the reason."""
    bad_format = admin_client.get(DOWNLOAD_URL, {"format": "xml"})
    bad_filter = admin_client.get(DOWNLOAD_URL, {"format": "csv", "since": "never"})

    assert bad_format.status_code == 400
    assert b"Unknown format 'xml'" in bad_format.content
    assert bad_filter.status_code == 400
    assert b"since: since 'never' is not a time" in bad_filter.content


def test_download_records_audit_log_viewed(filled_log, admin_client, admin_user):
    """A download records audit_log_viewed with the format and the number of records."""
    response = admin_client.get(DOWNLOAD_URL, {"event": "login_failure", "format": "csv"})
    b"".join(response.streaming_content)

    record = filled_log.records("audit_log_viewed")[-1]
    assert record["actor"] == {"id": admin_user.pk, "email": admin_user.email}
    assert record["details"] == {"via": "admin_download", "count": 40,
                                 "filters": {"events": ["login_failure"], "format": "csv"}}


def test_editor_cannot_open_viewer(filled_log, make_user):
    """An Editor is sent to the admin login instead of seeing the viewer or the download."""
    client = Client()
    client.force_login(make_user("eddie@example.com", role="editor"))

    for url in (VIEWER_URL, DOWNLOAD_URL + "?format=jsonl"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    assert filled_log.records("audit_log_viewed") == []


def test_anonymous_cannot_open_viewer(filled_log):
    """An anonymous visitor is sent to the admin login."""
    response = Client().get(VIEWER_URL)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_admin_without_permission_is_denied(filled_log, admin_user, client):
    """An Admin whose role group lost audit.view gets 403 and a permission_denied record."""
    from django.contrib.auth.models import Group

    from rbac.permissions import PERMISSIONS

    admin_group = Group.objects.get(name="Admin")
    admin_group.permissions.remove(admin_group.permissions.get(codename=PERMISSIONS["audit.view"].codename))
    client.force_login(admin_user)

    response = client.get(VIEWER_URL)

    assert response.status_code == 403
    record = filled_log.records("permission_denied")[-1]
    assert record["details"]["permission"] == "audit.view"


def test_viewer_listed_on_admin_index(admin_client):
    """The admin index links to the audit log viewer; nothing can be added or changed."""
    response = admin_client.get("/admin/")

    assert VIEWER_URL.encode() in response.content
    assert b"/admin/audit/auditrecord/add/" not in response.content


def test_viewer_escapes_markup(audit_log, admin_client):
    """Markup in a recorded value is shown as text, not run."""
    AuditWriter(audit_log.path, fsync=False).append(
        make_record("login_failure", user_agent="<script>alert(1)</script>\nx")
    )

    response = admin_client.get(VIEWER_URL)

    assert b"<script>alert(1)" not in response.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;\\nx" in response.content
    assert audit_log.records("login_failure")[0]["user_agent"] == "<script>alert(1)</script>\nx"


def test_unreadable_log_shows_error(audit_log, admin_client, settings):
    """A log path that cannot be read answers 503 with the reason instead of a server error."""
    blocker = audit_log.path.parent / "not-a-folder"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("")
    settings.AUDIT_LOG_PATH = blocker / "audit.jsonl"
    (blocker.parent / "audit.jsonl.lock").unlink(missing_ok=True)

    page = admin_client.get(VIEWER_URL)
    download = admin_client.get(DOWNLOAD_URL, {"format": "jsonl"})

    assert page.status_code == 503
    assert b"Could not read the audit log" in page.content
    assert download.status_code == 503
