import csv
import io
import json

import pytest
import time_machine
from django.core.management import CommandError

from audit.verify import verify_chain
from audit.writer import AuditWriter
from tests.audit.conftest import FixedClock, fill_log, make_record, parse_jsonl

pytestmark = pytest.mark.django_db


def user(user_id: int, email: str) -> dict:
    return {"type": "user", "id": user_id, "email": email}


def actor(user_id: int, email: str) -> dict:
    return {"id": user_id, "email": email}


# Export


def test_export_jsonl_to_stdout(audit_log, run_audit):
    """Export writes the records of a time range oldest first, each line as written."""
    fill_log(audit_log.path, 10)
    lines = audit_log.path.read_text().splitlines()

    stdout, _ = run_audit("export", "--since", "2026-03-01T12:00:03Z", "--until", "2026-03-01T12:00:06Z")

    assert stdout.splitlines() == lines[3:7]


def test_export_csv_to_file(audit_log, run_audit, tmp_path):
    """A CSV export to a file has a header, one row per record and owner-only permissions."""
    fill_log(audit_log.path, 5, ip="192.0.2.3", user_agent="=HYPERLINK(\"http://x\")\nsecond line")
    target = tmp_path / "out.csv"

    _, stderr = run_audit("export", "--format", "csv", "--output", str(target))

    rows = list(csv.reader(io.StringIO(target.read_text())))
    assert rows[0] == ["seq", "ts", "event", "actor_id", "actor_email", "target", "ip", "user_agent", "request_id",
                       "details", "prev_hash", "hash"]
    assert [row[0] for row in rows[1:]] == ["1", "2", "3", "4", "5"]
    assert rows[1][6] == "192.0.2.3"
    assert rows[1][7] == "'=HYPERLINK(\"http://x\")\\nsecond line"
    assert json.loads(rows[1][9]) == {"index": 0}
    assert target.stat().st_mode & 0o777 == 0o600
    assert "Wrote 5 record(s)" in stderr


def test_export_file_can_be_verified(audit_log, run_audit, tmp_path):
    """A full JSONL export is itself a log that verifies."""
    fill_log(audit_log.path, 30, max_bytes=2000)
    target = tmp_path / "copy.jsonl"

    run_audit("export", "--output", str(target))

    result = verify_chain(target)
    assert result.ok
    assert result.records == 30


def test_export_refuses_existing_file(audit_log, run_audit, tmp_path):
    """Export never overwrites a file and leaves it unchanged."""
    fill_log(audit_log.path, 3)
    target = tmp_path / "exists.jsonl"
    target.write_text("keep me")

    with pytest.raises(CommandError, match="already exists"):
        run_audit("export", "--output", str(target))

    assert target.read_text() == "keep me"


def test_export_bad_filter_creates_nothing(audit_log, run_audit, tmp_path):
    """A bad filter fails before any output file is created."""
    target = tmp_path / "never.jsonl"

    with pytest.raises(CommandError, match="not a time"):
        run_audit("export", "--since", "tomorrowish", "--output", str(target))

    assert not target.exists()


def test_export_records_audit_log_viewed(audit_log, run_audit):
    """An export records audit_log_viewed with its format and record count."""
    fill_log(audit_log.path, 4)

    run_audit("export", "--format", "csv", "--event", "logout")

    record = audit_log.records("audit_log_viewed")[-1]
    assert record["details"]["via"] == "export"
    assert record["details"]["count"] == 4
    assert record["details"]["filters"] == {"events": ["logout"], "format": "csv"}


def test_export_skips_rotated_files_before_window(audit_log, run_audit):
    """Only records inside the window are exported, even when older files precede it."""
    fill_log(audit_log.path, 200, max_bytes=3000)

    stdout, _ = run_audit("export", "--since", "2026-03-01T12:03:10Z")

    assert [record["seq"] for record in parse_jsonl(stdout)] == list(range(191, 201))


# Report


@pytest.fixture
def incident_log(audit_log):
    """History before 2026-06-01 and a day of incidents on 2026-06-01."""
    history = AuditWriter(audit_log.path, fsync=False, clock=FixedClock("2026-05-01T08:00:00"))
    history.append(make_record("login_success", actor=actor(1, "alice@example.com"), target=user(1, "alice@example.com"),
                               ip="192.0.2.10"))
    history.append(make_record("login_failure", target=user(None, "alice@example.com"), ip="203.0.113.1"))
    history.close()

    day = AuditWriter(audit_log.path, fsync=False, clock=FixedClock("2026-06-01T09:00:00"))
    for index in range(6):
        day.append(make_record("login_failure", target=user(None, "alice@example.com"), ip="203.0.113.7"))
    for email in ("bob@example.com", "carol@example.com"):
        day.append(make_record("login_failure", target=user(None, email), ip="203.0.113.7"))
    day.append(make_record("two_fa_failure", target=user(2, "bob@example.com"), ip="198.51.100.4"))
    day.append(make_record("account_locked", target=user(None, "alice@example.com"), ip="203.0.113.7",
                           details={"failures": 5}))
    day.append(make_record("login_success", actor=actor(1, "alice@example.com"), target=user(1, "alice@example.com"),
                           ip="192.0.2.10"))
    day.append(make_record("login_success", actor=actor(1, "alice@example.com"), target=user(1, "alice@example.com"),
                           ip="203.0.113.7"))
    day.append(make_record("login_success", actor=actor(1, "alice@example.com"), target=user(1, "alice@example.com"),
                           ip="203.0.113.7"))
    day.append(make_record("login_success", actor=actor(2, "bob@example.com"), target=user(2, "bob@example.com"),
                           ip="198.51.100.4"))
    day.append(make_record("role_changed", actor=actor(1, "alice@example.com"), target=user(2, "bob@example.com"),
                           details={"old_role": "viewer", "new_role": "admin"}))
    day.append(make_record("role_permissions_changed", target={"type": "role", "name": "editor"},
                           details={"added": ["dbt.run"], "removed": []}))
    day.append(make_record("secret_revealed", actor=actor(1, "alice@example.com"),
                           target={"type": "secret", "path": "sources.github.token"}))
    day.close()
    return audit_log


def run_report_json(run_audit, *args) -> dict:
    stdout, _ = run_audit("report", "--json", *args)
    return json.loads(stdout)


def test_report_failures_per_ip_and_account(incident_log, run_audit):
    """Failures are counted per IP with distinct accounts, and per account with distinct IPs."""
    report = run_report_json(run_audit, "--since", "2026-06-01", "--until", "2026-06-02")

    assert report["failures_by_ip"] == [
        {"key": "203.0.113.7", "failures": 8, "accounts": 3},
        {"key": "198.51.100.4", "failures": 1, "accounts": 1},
    ]
    assert report["failures_by_account"] == [
        {"key": "alice@example.com", "failures": 6, "ips": 1},
        {"key": "bob@example.com", "failures": 2, "ips": 2},
        {"key": "carol@example.com", "failures": 1, "ips": 1},
    ]


def test_report_lockouts_role_changes_and_secrets(incident_log, run_audit):
    """Lockouts, role changes and revealed secrets are listed from the window only."""
    report = run_report_json(run_audit, "--since", "2026-06-01", "--until", "2026-06-02")

    assert [record["target"]["email"] for record in report["lockouts"]] == ["alice@example.com"]
    assert [record["event"] for record in report["role_changes"]] == ["role_changed", "role_permissions_changed"]
    assert [record["target"]["path"] for record in report["secrets_revealed"]] == ["sources.github.token"]


def test_report_new_ip_sign_ins(incident_log, run_audit):
    """A sign-in from an IP never used by that user before is listed once; a user's first sign-in is marked."""
    report = run_report_json(run_audit, "--since", "2026-06-01", "--until", "2026-06-02")

    rows = [(row["record"]["actor"]["email"], row["record"]["ip"], row["first_sign_in"])
            for row in report["new_ip_sign_ins"]]
    assert rows == [("alice@example.com", "203.0.113.7", False), ("bob@example.com", "198.51.100.4", True)]


def test_report_window_excludes_history(incident_log, run_audit):
    """Records before the window count only as sign-in history."""
    report = run_report_json(run_audit, "--since", "2026-04-01", "--until", "2026-05-02")

    assert report["failures_by_ip"] == [{"key": "203.0.113.1", "failures": 1, "accounts": 1}]
    assert [row["record"]["ip"] for row in report["new_ip_sign_ins"]] == ["192.0.2.10"]
    assert report["lockouts"] == []


def test_report_default_window_is_last_day(incident_log, run_audit):
    """Without --since the report covers the last 24 hours."""
    with time_machine.travel("2026-06-01T20:00:00Z", tick=False):
        report = run_report_json(run_audit)

    assert report["since"] == "2026-05-31T20:00:00.000000Z"
    assert report["records_in_window"] == 17


def test_report_text_sections(incident_log, run_audit):
    """The text report prints every section, with "none" for empty ones."""
    stdout, _ = run_audit("report", "--since", "2026-06-01", "--until", "2026-06-02", "--top", "1")

    for heading in ("Failures per IP", "Failures per account", "Lockouts",
                    "Sign-ins from an IP never seen before for that user", "Role changes", "Secrets revealed"):
        assert heading in stdout
    assert "203.0.113.7" in stdout
    assert "… and 1 more (raise --top to list them)" in stdout
    assert "(first sign-in on record)" in stdout
    quiet, _ = run_audit("report", "--since", "2026-01-01", "--until", "2026-01-02")
    assert quiet.count("  none") == 6


def test_report_rejects_reversed_window(incident_log, run_audit):
    """A window whose start follows its end is refused."""
    with pytest.raises(CommandError, match="later than --until"):
        run_audit("report", "--since", "2026-06-02", "--until", "2026-06-01")


def test_report_records_audit_log_viewed(incident_log, run_audit):
    """A report records audit_log_viewed with its window."""
    run_audit("report", "--since", "2026-06-01", "--until", "2026-06-02")

    record = incident_log.records("audit_log_viewed")[-1]
    assert record["details"]["via"] == "report"
    assert record["details"]["filters"] == {"since": "2026-06-01T00:00:00.000000Z",
                                            "until": "2026-06-02T00:00:00.000000Z"}
    assert record["details"]["count"] == 17
