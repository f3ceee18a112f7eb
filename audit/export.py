"""Write audit records as JSONL or CSV for a SIEM or a spreadsheet."""

import csv
import json
import re
from collections.abc import Iterable
from typing import TextIO

CSV_COLUMNS = (
    "seq", "ts", "event", "actor_id", "actor_email", "target", "ip", "user_agent", "request_id", "details",
    "prev_hash", "hash",
)
FORMATS = ("jsonl", "csv")
# Spreadsheets run a cell that starts with one of these as a formula.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}
_UNSAFE_CHARACTER = re.compile(r"[\\\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_controls(text: str) -> str:
    """Escape control characters, line separators and backslashes as ``\\n``, ``\\x1b``, ``\\u2028``, ``\\\\``.

    Used for CSV cells and terminal output, so a value cannot split a row or
    send escape sequences to a terminal; the escaping is reversible.
    """

    def replace(match: re.Match) -> str:
        character = match.group(0)
        if character in _SHORT_ESCAPES:
            return _SHORT_ESCAPES[character]
        code = ord(character)
        return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"

    return _UNSAFE_CHARACTER.sub(replace, text)


def record_line(record: dict) -> str:
    """Return ``record`` as one JSONL line, byte for byte as the writer wrote it.

    Parsing keeps the key order and the writer's separators are compact, so
    an exported line still verifies against its hash.
    """
    return json.dumps(record, ensure_ascii=True, separators=(",", ":"))


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=True, separators=(",", ":"), sort_keys=True)
    text = escape_controls(str(value))
    if text.startswith(_FORMULA_PREFIXES):
        # A leading apostrophe makes spreadsheets show the text instead of
        # running it; a user agent or an email is attacker-chosen.
        return "'" + text
    return text


def csv_row(record: dict) -> list[str]:
    actor = record.get("actor") if isinstance(record.get("actor"), dict) else {}
    values = {
        **{name: record.get(name) for name in CSV_COLUMNS},
        "actor_id": actor.get("id"),
        "actor_email": actor.get("email"),
    }
    return [_cell(values[name]) for name in CSV_COLUMNS]


def write_records(records: Iterable[dict], output: TextIO, output_format: str) -> int:
    """Write ``records`` to ``output`` in ``output_format`` ("jsonl" or "csv"); return how many."""
    if output_format not in FORMATS:
        raise ValueError(f"Unknown export format {output_format!r}; choose one of: {', '.join(FORMATS)}.")
    count = 0
    if output_format == "csv":
        writer = csv.writer(output, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for record in records:
            writer.writerow(csv_row(record))
            count += 1
    else:
        for record in records:
            output.write(record_line(record) + "\n")
            count += 1
    return count
