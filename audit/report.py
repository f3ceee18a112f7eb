"""Summarise suspicious activity in a time window of the audit log.

Sections: failures per IP and per account, lockouts, sign-ins from an IP
the user never signed in from before, role changes and revealed secrets.
Spotting a new IP needs every earlier sign-in, so the report reads the log
from its first record up to the end of the window.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from audit.query import AuditFilter, ReadStats, format_ts, iter_records

FAILURE_EVENTS = frozenset({"login_failure", "two_fa_failure", "api_key_rejected", "oauth_login_rejected"})
ROLE_EVENTS = frozenset({"role_changed", "role_permissions_changed"})


@dataclass(frozen=True)
class FailureCount:
    key: str | None
    failures: int
    # Distinct accounts for an IP row, distinct IPs for an account row.
    spread: int


@dataclass(frozen=True)
class NewIpSignIn:
    record: dict
    first_sign_in: bool


@dataclass
class Report:
    since: datetime
    until: datetime | None
    records_in_window: int = 0
    failures_by_ip: list[FailureCount] = field(default_factory=list)
    failures_by_account: list[FailureCount] = field(default_factory=list)
    lockouts: list[dict] = field(default_factory=list)
    new_ip_sign_ins: list[NewIpSignIn] = field(default_factory=list)
    role_changes: list[dict] = field(default_factory=list)
    secrets_revealed: list[dict] = field(default_factory=list)
    unreadable_lines: int = 0

    def as_dict(self) -> dict:
        def counts(rows, spread_name):
            return [{"key": row.key, "failures": row.failures, spread_name: row.spread} for row in rows]

        return {
            "since": format_ts(self.since),
            "until": format_ts(self.until) if self.until else None,
            "records_in_window": self.records_in_window,
            "failures_by_ip": counts(self.failures_by_ip, "accounts"),
            "failures_by_account": counts(self.failures_by_account, "ips"),
            "lockouts": self.lockouts,
            "new_ip_sign_ins": [{"first_sign_in": row.first_sign_in, "record": row.record} for row in self.new_ip_sign_ins],
            "role_changes": self.role_changes,
            "secrets_revealed": self.secrets_revealed,
            "unreadable_lines": self.unreadable_lines,
        }


def _account_of(record: dict) -> str | None:
    target = record.get("target")
    if isinstance(target, dict) and target.get("type") == "user":
        email = target.get("email")
        if email:
            return str(email)
        if target.get("id") is not None:
            return f"user {target['id']}"
    return None


def _signed_in_user(record: dict):
    actor = record.get("actor")
    if isinstance(actor, dict) and actor.get("id") is not None:
        return actor["id"]
    target = record.get("target")
    if isinstance(target, dict):
        return target.get("id")
    return None


def build_report(since: datetime, until: datetime | None = None, path: Path | None = None) -> Report:
    """Summarise the records with ``since <= ts <= until`` of the log at ``path``."""
    report = Report(since=since, until=until)
    stats = ReadStats()
    since_ts = format_ts(since)

    known_ips: dict[object, set[str]] = defaultdict(set)
    history = AuditFilter(until=since, events=frozenset({"login_success"}))
    for record in iter_records(history, newest_first=False, path=path, stats=stats):
        if record["ts"] < since_ts and record.get("ip"):
            known_ips[_signed_in_user(record)].add(record["ip"])

    failures_by_ip: Counter = Counter()
    failures_by_account: Counter = Counter()
    accounts_per_ip: dict[str | None, set] = defaultdict(set)
    ips_per_account: dict[str | None, set] = defaultdict(set)

    for record in iter_records(AuditFilter(since=since, until=until), newest_first=False, path=path, stats=stats):
        report.records_in_window += 1
        event = record.get("event")
        if event in FAILURE_EVENTS:
            ip, account = record.get("ip"), _account_of(record)
            failures_by_ip[ip] += 1
            accounts_per_ip[ip].add(account)
            if account is not None:
                failures_by_account[account] += 1
                ips_per_account[account].add(ip)
        elif event == "account_locked":
            report.lockouts.append(record)
        elif event == "login_success":
            user, ip = _signed_in_user(record), record.get("ip")
            if ip and ip not in known_ips[user]:
                report.new_ip_sign_ins.append(NewIpSignIn(record, first_sign_in=not known_ips[user]))
                known_ips[user].add(ip)
        elif event in ROLE_EVENTS:
            report.role_changes.append(record)
        elif event == "secret_revealed":
            report.secrets_revealed.append(record)

    report.failures_by_ip = [
        FailureCount(ip, count, len(accounts_per_ip[ip] - {None})) for ip, count in failures_by_ip.most_common()
    ]
    report.failures_by_account = [
        FailureCount(account, count, len(ips_per_account[account] - {None}))
        for account, count in failures_by_account.most_common()
    ]
    report.unreadable_lines = stats.unreadable_lines
    return report
