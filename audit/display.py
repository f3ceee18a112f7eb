"""Short, terminal-safe text for records: one table row each, and the report sections."""

import json

from audit.export import escape_controls
from audit.report import Report

TABLE_COLUMNS = (("ts", 20), ("seq", 7), ("event", 26), ("actor", 28), ("target", 30), ("ip", 16))
DETAILS_WIDTH = 80


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def describe_actor(record: dict) -> str:
    actor = record.get("actor")
    if isinstance(actor, dict):
        return escape_controls(str(actor.get("email") or f"user {actor.get('id')}"))
    return "-"


def describe_target(target) -> str:
    if not isinstance(target, dict):
        return "-"
    kind = target.get("type")
    if kind == "user":
        label = target.get("email") or f"user {target.get('id')}"
    elif kind == "path":
        label = target.get("path")
    elif kind == "role":
        label = f"role {target.get('name')}"
    elif kind == "api_key":
        label = f"key {target.get('key_prefix')}"
    else:
        label = json.dumps(target, ensure_ascii=True, separators=(",", ":"), sort_keys=True)
    return escape_controls(str(label))


def describe_details(details) -> str:
    if not details:
        return ""
    return json.dumps(details, ensure_ascii=True, separators=(",", ":"), sort_keys=True)


def table_header() -> str:
    return "  ".join(name.ljust(width) for name, width in TABLE_COLUMNS) + "  details"


def table_row(record: dict) -> str:
    ts = str(record.get("ts", ""))[:19].replace("T", " ")
    cells = {
        "ts": escape_controls(ts),
        "seq": str(record.get("seq", "")),
        "event": escape_controls(str(record.get("event", ""))),
        "actor": describe_actor(record),
        "target": describe_target(record.get("target")),
        "ip": escape_controls(str(record.get("ip") or "-")),
    }
    row = "  ".join(clip(cells[name], width).ljust(width) for name, width in TABLE_COLUMNS)
    return row + "  " + clip(describe_details(record.get("details")), DETAILS_WIDTH)


def report_lines(report: Report, top: int) -> list[str]:
    until = report.as_dict()["until"] or "now"
    lines = [
        f"Audit report from {report.as_dict()['since']} to {until}: {report.records_in_window} record(s).",
        "",
        "Failures per IP (sign-in, two-factor, API key and OAuth failures)",
    ]
    lines += _count_rows(report.failures_by_ip[:top], "IP", "accounts", len(report.failures_by_ip), top)
    lines += ["", "Failures per account"]
    lines += _count_rows(report.failures_by_account[:top], "account", "IPs", len(report.failures_by_account), top)
    lines += ["", "Lockouts"]
    lines += _record_rows(report.lockouts)
    lines += ["", "Sign-ins from an IP never seen before for that user"]
    if not report.new_ip_sign_ins:
        lines.append("  none")
    for row in report.new_ip_sign_ins:
        note = "  (first sign-in on record)" if row.first_sign_in else ""
        lines.append("  " + table_row(row.record) + note)
    lines += ["", "Role changes"]
    lines += _record_rows(report.role_changes)
    lines += ["", "Secrets revealed"]
    lines += _record_rows(report.secrets_revealed)
    return lines


def _count_rows(rows, key_name: str, spread_name: str, total: int, top: int) -> list[str]:
    if not rows:
        return ["  none"]
    lines = [f"  {key_name:40} {'failures':>8} {spread_name:>8}"]
    for row in rows:
        key = escape_controls(str(row.key)) if row.key is not None else "unknown"
        lines.append(f"  {clip(key, 40):40} {row.failures:>8} {row.spread:>8}")
    if total > top:
        lines.append(f"  … and {total - top} more (raise --top to list them)")
    return lines


def _record_rows(records: list[dict]) -> list[str]:
    if not records:
        return ["  none"]
    return ["  " + table_row(record) for record in records]
