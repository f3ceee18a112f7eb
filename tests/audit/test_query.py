import json
from datetime import datetime, timezone

import pytest
import time_machine
from django.core.management import CommandError

from audit import query as query_module
from audit.query import AuditFilter, InvalidFilter, ReadStats, iter_records, parse_time, query
from audit.reader import Snapshot
from audit.writer import AuditWriter
from tests.audit.conftest import FixedClock, fill_log, make_record, parse_jsonl

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
ALICE = {"id": 7, "email": "alice@example.com"}
BOB_TARGET = {"type": "user", "id": 8, "email": "bob@example.com"}


class DayClock(FixedClock):
    """One record per day from 2026-03-01 12:00 UTC."""

    def __init__(self):
        super().__init__("2026-03-01T12:00:00")
        from datetime import timedelta

        self.step = timedelta(days=1)


@pytest.fixture
def mixed_log(audit_log):
    """Nine records, one per day from 2026-03-01, of several events, users and IPs."""
    writer = AuditWriter(audit_log.path, fsync=False, clock=DayClock())
    rows = [
        make_record("login_success", actor=ALICE, target={"type": "user", **ALICE}, ip="192.0.2.1"),
        make_record("login_failure", target=BOB_TARGET, ip="203.0.113.5"),
        make_record("login_failure", target=BOB_TARGET, ip="203.0.113.6"),
        make_record("role_changed", actor=ALICE, target=BOB_TARGET, ip="192.0.2.1"),
        make_record("logout", actor=ALICE, target={"type": "user", **ALICE}, ip="192.0.2.1"),
        make_record("login_success", actor={"id": 8, "email": "bob@example.com"}, target=BOB_TARGET, ip="198.51.100.2"),
        make_record("permission_denied", actor={"id": 8, "email": "bob@example.com"}, target={"type": "path", "path": "/x/"},
                    ip="2001:db8::1"),
        make_record("account_locked", target={"type": "user", "id": None, "email": "carol@example.com"}, ip="203.0.113.5"),
        make_record("logout", actor={"id": 8, "email": "bob@example.com"}, target=BOB_TARGET, ip="198.51.100.2"),
    ]
    for row in rows:
        writer.append(row)
    return audit_log


def seqs(records) -> list[int]:
    return [record["seq"] for record in records]


def test_newest_first_with_limit(mixed_log):
    """Records come newest first and stop at the limit."""
    result = query(limit=3)

    assert seqs(result.records) == [9, 8, 7]
    assert result.has_more is True


def test_offset_pages(mixed_log):
    """An offset skips that many matches; the last page says nothing more remains."""
    result = query(limit=4, offset=6)

    assert seqs(result.records) == [3, 2, 1]
    assert result.has_more is False


def test_event_filter(mixed_log):
    """Only the named events come back, and several may be named."""
    assert seqs(query(AuditFilter.parse(events=["login_failure"])).records) == [3, 2]
    assert seqs(query(AuditFilter.parse(events=["logout", "account_locked"])).records) == [9, 8, 5]
    assert seqs(query(AuditFilter.parse(events=["logout,account_locked"])).records) == [9, 8, 5]


def test_user_filter_by_email_and_id(mixed_log):
    """A user matches as actor or as target, by email (any case) or by id."""
    by_email = seqs(query(AuditFilter.parse(user="BOB@example.com")).records)
    by_id = seqs(query(AuditFilter.parse(user="8")).records)

    assert by_email == [9, 7, 6, 4, 3, 2]
    assert by_id == by_email
    assert seqs(query(AuditFilter.parse(user="7")).records) == [5, 4, 1]


def test_ip_filter_address_and_network(mixed_log):
    """An IP filter takes one address or a network, IPv4 or IPv6."""
    assert seqs(query(AuditFilter.parse(ip="203.0.113.5")).records) == [8, 2]
    assert seqs(query(AuditFilter.parse(ip="203.0.113.0/24")).records) == [8, 3, 2]
    assert seqs(query(AuditFilter.parse(ip="2001:db8::/32")).records) == [7]
    assert seqs(query(AuditFilter.parse(ip="::ffff:192.0.2.1")).records) == [5, 4, 1]


def test_absolute_time_window(mixed_log):
    """since and until bound the window inclusively; a date without time is midnight UTC."""
    audit_filter = AuditFilter.parse(since="2026-03-03", until="2026-03-05T12:00:00Z")

    assert seqs(query(audit_filter).records) == [5, 4, 3]


def test_relative_times(mixed_log):
    """Relative times count back from now (2d, 48h, 2880m, 3w) and bound the window inclusively."""
    with time_machine.travel(NOW, tick=False):
        two_days = seqs(query(AuditFilter.parse(since="2d")).records)
        hours = seqs(query(AuditFilter.parse(since="48h")).records)
        minutes = seqs(query(AuditFilter.parse(since="2880m")).records)
        until = seqs(query(AuditFilter.parse(until="7d")).records)
        weeks = seqs(query(AuditFilter.parse(since="3w")).records)

    assert two_days == [9, 8]
    assert hours == minutes == two_days
    assert until == [3, 2, 1]
    assert weeks == list(range(9, 0, -1))


def test_parse_time_forms():
    """Offsets are converted to UTC and a missing offset means UTC."""
    assert parse_time("2026-03-01T14:00:00+02:00", "since") == datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    assert parse_time("2026-03-01T14:00", "since") == datetime(2026, 3, 1, 14, tzinfo=timezone.utc)
    assert parse_time("90s", "since", now=NOW) == datetime(2026, 3, 10, 11, 58, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "arguments,field,message",
    [
        ({"since": "yesterday"}, "since", "'yesterday' is not a time"),
        ({"until": "12x"}, "until", "'12x' is not a time"),
        ({"since": "2026-03-05", "until": "2026-03-01"}, "since", "later than until"),
        ({"events": ["login_sucess"]}, "event", "Unknown audit event(s): 'login_sucess'"),
        ({"user": "bob"}, "user", "neither a user id"),
        ({"ip": "300.1.1.1"}, "ip", "not an IP address or network"),
        ({"since": "99999999999d"}, "since", "too far back"),
    ],
)
def test_invalid_filters(arguments, field, message):
    """Each bad filter value raises InvalidFilter naming the field and the value."""
    with pytest.raises(InvalidFilter) as raised:
        AuditFilter.parse(**arguments)

    assert raised.value.field == field
    assert message in str(raised.value)


@pytest.mark.parametrize("limit,offset", [(0, 0), (-1, 0), (5, -1)])
def test_invalid_limit_and_offset(limit, offset):
    """A limit below 1 or a negative offset is refused."""
    with pytest.raises(InvalidFilter):
        query(limit=limit, offset=offset)


def test_newest_records_read_only_newest_file(audit_log, monkeypatch):
    """The newest records are read from the current file's end without opening older files."""
    fill_log(audit_log.path, 3000, max_bytes=100_000)
    opened = []
    real_open = Snapshot.open

    def spy(snapshot, file):
        opened.append(file.path.name)
        return real_open(snapshot, file)

    monkeypatch.setattr(Snapshot, "open", spy)
    stats = ReadStats()
    records = []
    for record in iter_records(path=audit_log.path, stats=stats):
        records.append(record)
        if len(records) == 100:
            break

    assert seqs(records) == list(range(3000, 2900, -1))
    assert opened == ["audit.jsonl"]
    assert stats.lines_read == 100


def test_newest_records_cross_into_rotated_file(audit_log):
    """When the current file holds too few, the query continues in the newest rotated file."""
    fill_log(audit_log.path, 200, max_bytes=5000)
    current_count = len(audit_log.path.read_text().splitlines())

    result = query(limit=current_count + 5)

    assert seqs(result.records) == list(range(200, 200 - current_count - 5, -1))


def test_since_stops_scan_early(audit_log):
    """A since filter stops the backwards scan once records are older than the window."""
    fill_log(audit_log.path, 1000)  # one record per second from 12:00:00
    stats = ReadStats()
    audit_filter = AuditFilter.parse(since="2026-03-01T12:15:00Z")

    matches = list(iter_records(audit_filter, path=audit_log.path, stats=stats))

    assert seqs(matches) == list(range(1000, 900, -1))
    # The scan goes on for the five-minute clock-skew margin (300 records), then stops.
    assert stats.lines_read <= 100 + 300 + 1


def test_unreadable_lines_are_counted(audit_log):
    """A line that is not JSON is skipped and counted, never returned."""
    fill_log(audit_log.path, 3)
    with open(audit_log.path, "a") as handle:
        handle.write("garbage\n")

    result = query(limit=10)

    assert seqs(result.records) == [3, 2, 1]
    assert result.unreadable_lines == 1


def test_missing_log_returns_nothing(audit_log):
    """Querying a log that does not exist yet returns no records."""
    assert query().records == []


def test_command_table_output(mixed_log, run_audit):
    """The table lists the newest records with actor, target and IP."""
    stdout, stderr = run_audit("query", "--limit", "2")

    lines = stdout.splitlines()
    assert lines[0].split()[:3] == ["ts", "seq", "event"]
    assert "logout" in lines[1]
    assert "bob@example.com" in lines[1]
    assert "198.51.100.2" in lines[1]
    assert "account_locked" in lines[2]
    assert "carol@example.com" in lines[2]
    assert len(lines) == 3
    assert "2 record(s). Older matches exist" in stderr


def test_command_json_and_jsonl(mixed_log, run_audit):
    """--json prints an array and --jsonl one record per line, both newest first."""
    as_json, _ = run_audit("query", "--json", "--event", "login_failure")
    as_jsonl, _ = run_audit("query", "--jsonl", "--event", "login_failure")

    assert seqs(json.loads(as_json)) == [3, 2]
    assert seqs(parse_jsonl(as_jsonl)) == [3, 2]


def test_command_filters_combined(mixed_log, run_audit):
    """Filters given together must all match."""
    stdout, _ = run_audit("query", "--jsonl", "--user", "bob@example.com", "--ip", "203.0.113.0/24",
                          "--since", "2026-03-02T12:00:00Z", "--until", "2026-03-02T12:00:00Z")

    assert seqs(parse_jsonl(stdout)) == [2]


@pytest.mark.parametrize(
    "arguments,message",
    [
        (["--event", "nope"], "Unknown audit event(s): 'nope'"),
        (["--since", "soon"], "since 'soon' is not a time"),
        (["--user", "not an email"], "neither a user id"),
        (["--ip", "1.2.3"], "not an IP address"),
    ],
)
def test_command_rejects_bad_filters(mixed_log, run_audit, arguments, message):
    """A bad filter fails with a CommandError that names the value, and writes nothing to the log."""
    before = mixed_log.path.read_bytes()

    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_audit("query", *arguments)

    assert mixed_log.path.read_bytes() == before


def test_command_rejects_bad_limit(mixed_log, run_audit):
    """--limit must be a whole number of at least 1."""
    with pytest.raises(CommandError, match="must be at least 1"):
        run_audit("query", "--limit", "0")
    with pytest.raises(CommandError, match="not a whole number"):
        run_audit("query", "--limit", "ten")


def test_query_module_has_public_names():
    """The JSON API can import the filter, query and error types from audit.query."""
    for name in ("AuditFilter", "InvalidFilter", "QueryResult", "query", "iter_records", "parse_time"):
        assert hasattr(query_module, name)
