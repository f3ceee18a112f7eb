"""Filter audit records and read them newest first (or oldest first) from the log files.

The public surface is ``AuditFilter.parse`` (validates user input and raises
``InvalidFilter`` naming the field), ``query`` (one page, newest first) and
``iter_records`` (every match, in either order). Reading newest first goes
backwards through the current file and then the rotated files, so the
newest N records cost only the chunks that hold them.

Time filters compare ``ts`` strings; the writer stamps them in one fixed
format while it holds the lock, so lines are in ``ts`` order. A scan stops
once it passes the time window by ``CLOCK_SKEW_MARGIN``.

NOTE: if the system clock steps back by more than ``CLOCK_SKEW_MARGIN``,
records written after the step can end a scan early and hide older records
that still fall in the window. ``manage.py audit verify`` warns where ``ts``
goes backwards.
"""

import ipaddress
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from django.utils import timezone as django_timezone

from audit import app_settings
from audit.events import EVENT_TYPES
from audit.reader import LogFile, Snapshot, iter_lines_backward, iter_lines_forward

CLOCK_SKEW_MARGIN = timedelta(minutes=5)
TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_RELATIVE_TIME = re.compile(r"^(\d+)\s*([smhdw])$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_TS_KEY = b'"ts":"'
_TS_LENGTH = len("2026-01-02T03:04:05.123456Z")

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class InvalidFilter(ValueError):
    """Invalid filter input; ``field`` names the filter and the message gives the reason."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


def format_ts(moment: datetime) -> str:
    """Return ``moment`` in the log's ``ts`` format (UTC, microseconds, Z)."""
    return moment.astimezone(timezone.utc).strftime(TS_FORMAT)


def parse_ts(value: str) -> datetime:
    return datetime.strptime(value, TS_FORMAT).replace(tzinfo=timezone.utc)


def parse_time(value: str, field_name: str, now: datetime | None = None) -> datetime:
    """Parse an ISO 8601 time or a time relative to now such as ``30m``, ``24h``, ``7d`` or ``2w``.

    A time without an offset is UTC.
    """
    text = (value or "").strip()
    relative = _RELATIVE_TIME.match(text)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2).lower()
        try:
            moment = (now or django_timezone.now()) - timedelta(seconds=amount * _UNIT_SECONDS[unit])
        except OverflowError:
            raise InvalidFilter(field_name, f"{field_name} {value!r} reaches too far back.") from None
        return _check_scan_range(moment, field_name, value)
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise InvalidFilter(
            field_name,
            f"{field_name} {value!r} is not a time. Use ISO 8601 (2026-01-31 or 2026-01-31T14:00:00Z) "
            "or a time relative to now: a number and s, m, h, d or w (30m, 24h, 7d).",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        moment = moment.astimezone(timezone.utc)
    except OverflowError:
        raise InvalidFilter(field_name, f"{field_name} {value!r} is out of range once converted to UTC.") from None
    return _check_scan_range(moment, field_name, value)


def _check_scan_range(moment: datetime, field_name: str, value: str) -> datetime:
    # A scan widens the window by CLOCK_SKEW_MARGIN on each side, which
    # overflows within that margin of year 1 or year 9999.
    try:
        moment - CLOCK_SKEW_MARGIN, moment + CLOCK_SKEW_MARGIN
    except OverflowError:
        raise InvalidFilter(
            field_name, f"{field_name} {value!r} is out of range; give a time between the years 2 and 9998."
        ) from None
    return moment


def parse_events(values: Iterable[str] | str) -> frozenset[str]:
    """Validate event names given as a list, or as one string; commas separate names in either."""
    if isinstance(values, str):
        values = [values]
    names = set()
    unknown = []
    for value in values:
        for name in str(value).split(","):
            name = name.strip()
            if not name:
                continue
            if name in EVENT_TYPES:
                names.add(name)
            else:
                unknown.append(name)
    if unknown:
        raise InvalidFilter(
            "event",
            f"Unknown audit event(s): {', '.join(repr(name) for name in unknown)}. "
            f"Known events: {', '.join(sorted(EVENT_TYPES))}.",
        )
    return frozenset(names)


def parse_user(value: str) -> tuple[int | None, str | None]:
    """Return (user id, None) for a number or (None, email) for an email address."""
    text = (value or "").strip()
    if text.isdigit():
        return int(text), None
    if "@" in text and not any(character.isspace() for character in text):
        return None, text.lower()
    raise InvalidFilter("user", f"user {value!r} is neither a user id (a number) nor an email address.")


def parse_ip(value: str) -> IPNetwork:
    """Parse an IP address or a network such as ``192.0.2.0/24``."""
    text = (value or "").strip()
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidFilter(
            "ip", f"ip {value!r} is not an IP address or network (examples: 192.0.2.7, 2001:db8::/32)."
        ) from None
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen == 128:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            # The client-IP function records IPv4-mapped addresses as plain IPv4.
            network = ipaddress.ip_network(str(mapped))
    return network


@dataclass(frozen=True)
class AuditFilter:
    """Conditions on records; every field that is set must match, and an empty filter matches everything."""

    since: datetime | None = None
    until: datetime | None = None
    events: frozenset[str] = field(default_factory=frozenset)
    user_id: int | None = None
    user_email: str | None = None
    ip: IPNetwork | None = None

    @classmethod
    def parse(
        cls,
        *,
        since: str | None = None,
        until: str | None = None,
        events: Iterable[str] = (),
        user: str | None = None,
        ip: str | None = None,
        now: datetime | None = None,
    ) -> "AuditFilter":
        """Build a filter from user input (empty strings count as absent); raise InvalidFilter on bad input."""
        now = now or django_timezone.now()
        since_time = parse_time(since, "since", now) if since else None
        until_time = parse_time(until, "until", now) if until else None
        if since_time and until_time and since_time > until_time:
            raise InvalidFilter(
                "since", f"since {since!r} is later than until {until!r}; swap them or widen the window."
            )
        user_id, user_email = parse_user(user) if user else (None, None)
        return cls(
            since=since_time,
            until=until_time,
            events=parse_events(events or ()),
            user_id=user_id,
            user_email=user_email,
            ip=parse_ip(ip) if ip else None,
        )

    def describe(self) -> dict:
        """Return the filter as JSON-ready values, for the audit_log_viewed record."""
        described = {}
        if self.since:
            described["since"] = format_ts(self.since)
        if self.until:
            described["until"] = format_ts(self.until)
        if self.events:
            described["events"] = sorted(self.events)
        if self.user_id is not None:
            described["user"] = self.user_id
        if self.user_email:
            described["user"] = self.user_email
        if self.ip:
            described["ip"] = str(self.ip)
        return described

    @property
    def since_ts(self) -> str | None:
        return format_ts(self.since) if self.since else None

    @property
    def until_ts(self) -> str | None:
        return format_ts(self.until) if self.until else None

    def matches_line(self, line: bytes) -> bool | None:
        """Decide from the raw line where possible: False rules the record out, None needs parsing."""
        if self.events and not any(b'"event":"%s"' % name.encode() in line for name in self.events):
            return False
        return None

    def matches(self, record: dict) -> bool:
        ts = record.get("ts")
        if not isinstance(ts, str):
            return False
        if self.since is not None and ts < self.since_ts:
            return False
        if self.until is not None and ts > self.until_ts:
            return False
        if self.events and record.get("event") not in self.events:
            return False
        if (self.user_id is not None or self.user_email) and not self._matches_user(record):
            return False
        if self.ip is not None and not self._matches_ip(record.get("ip")):
            return False
        return True

    def _matches_user(self, record: dict) -> bool:
        # A user matches as the actor or as the target, so failed sign-ins
        # against an account show up next to that account's own actions.
        actor, target = record.get("actor"), record.get("target")
        actor = actor if isinstance(actor, dict) else {}
        target = target if isinstance(target, dict) and target.get("type") == "user" else {}
        if self.user_id is not None:
            return self.user_id in (actor.get("id"), target.get("id"))
        emails = [person.get("email") for person in (actor, target)]
        return any(isinstance(email, str) and email.lower() == self.user_email for email in emails)

    def _matches_ip(self, value) -> bool:
        if not isinstance(value, str):
            return False
        try:
            return ipaddress.ip_address(value) in self.ip
        except ValueError:
            return False


@dataclass
class ReadStats:
    """Counts from one scan: lines read and lines that are not JSON records."""

    unreadable_lines: int = 0
    lines_read: int = 0


@dataclass
class QueryResult:
    records: list[dict]
    has_more: bool
    unreadable_lines: int


def _line_ts(line: bytes) -> str | None:
    start = line.find(_TS_KEY)
    if start == -1:
        return None
    start += len(_TS_KEY)
    return line[start:start + _TS_LENGTH].decode("ascii", "replace")


def _parse(line: bytes, stats: ReadStats) -> dict | None:
    try:
        record = json.loads(line)
    except ValueError:
        stats.unreadable_lines += 1
        return None
    if not isinstance(record, dict):
        stats.unreadable_lines += 1
        return None
    return record


def iter_records(
    audit_filter: AuditFilter | None = None,
    *,
    newest_first: bool = True,
    path: Path | None = None,
    stats: ReadStats | None = None,
) -> Iterator[dict]:
    """Yield the records matching ``audit_filter`` from the log at ``path`` (default: the configured log)."""
    audit_filter = audit_filter or AuditFilter()
    stats = stats if stats is not None else ReadStats()
    with Snapshot(Path(path) if path else app_settings.log_path()) as snapshot:
        if newest_first:
            yield from _scan_newest_first(snapshot, audit_filter, stats)
        else:
            yield from _scan_oldest_first(snapshot, audit_filter, stats)


def _scan_newest_first(snapshot: Snapshot, audit_filter: AuditFilter, stats: ReadStats) -> Iterator[dict]:
    stop_before = format_ts(audit_filter.since - CLOCK_SKEW_MARGIN) if audit_filter.since else None
    for _file, line in snapshot.lines_newest_first():
        stats.lines_read += 1
        if not line:
            stats.unreadable_lines += 1
            continue
        if stop_before is not None:
            ts = _line_ts(line)
            if ts is not None and ts < stop_before:
                return
        if audit_filter.matches_line(line) is False:
            continue
        record = _parse(line, stats)
        if record is not None and audit_filter.matches(record):
            yield record


def _scan_oldest_first(snapshot: Snapshot, audit_filter: AuditFilter, stats: ReadStats) -> Iterator[dict]:
    skip_before = format_ts(audit_filter.since - CLOCK_SKEW_MARGIN) if audit_filter.since else None
    stop_after = format_ts(audit_filter.until + CLOCK_SKEW_MARGIN) if audit_filter.until else None
    for file in snapshot.files:
        # A rotated file whose last record is older than the window contains no match.
        if skip_before is not None and file is not snapshot.files[-1] and _file_ends_before(snapshot, file, skip_before):
            continue
        handle = snapshot.open(file)
        try:
            for line in iter_lines_forward(handle, file.size):
                stats.lines_read += 1
                if not line:
                    stats.unreadable_lines += 1
                    continue
                if stop_after is not None:
                    ts = _line_ts(line)
                    if ts is not None and ts > stop_after:
                        return
                if audit_filter.matches_line(line) is False:
                    continue
                record = _parse(line, stats)
                if record is not None and audit_filter.matches(record):
                    yield record
        finally:
            snapshot.release(handle)


def _file_ends_before(snapshot: Snapshot, file: LogFile, ts_limit: str) -> bool:
    handle = snapshot.open(file)
    try:
        for line in iter_lines_backward(handle, file.size):
            ts = _line_ts(line)
            return ts is not None and ts < ts_limit
        return True
    finally:
        snapshot.release(handle)


def query(
    audit_filter: AuditFilter | None = None,
    *,
    limit: int = 100,
    offset: int = 0,
    path: Path | None = None,
) -> QueryResult:
    """Return up to ``limit`` matching records, newest first, after skipping ``offset`` matches.

    ``has_more`` is true when older matches remain. Raises InvalidFilter
    for a limit below 1 or a negative offset.
    """
    if not isinstance(limit, int) or limit < 1:
        raise InvalidFilter("limit", f"limit {limit!r} must be a whole number of at least 1.")
    if not isinstance(offset, int) or offset < 0:
        raise InvalidFilter("offset", f"offset {offset!r} must be a whole number of at least 0.")
    stats = ReadStats()
    records = []
    has_more = False
    for index, record in enumerate(iter_records(audit_filter, newest_first=True, path=path, stats=stats)):
        if index < offset:
            continue
        if len(records) == limit:
            has_more = True
            break
        records.append(record)
    return QueryResult(records=records, has_more=has_more, unreadable_lines=stats.unreadable_lines)
