"""Canonical form and hashing of audit records.

Each record's ``hash`` is SHA-256 over the canonical JSON of the record
without its ``hash`` field, and it includes ``prev_hash``, the previous
record's hash. Editing, deleting, inserting or reordering any line therefore
breaks the chain at that point, and ``seq`` says where.
"""

import hashlib
import json

GENESIS_HASH = "0" * 64

# Order of keys in a written line; readers may rely on it for quick scans.
FIELD_ORDER = (
    "seq",
    "ts",
    "event",
    "actor",
    "target",
    "ip",
    "user_agent",
    "request_id",
    "details",
    "prev_hash",
    "hash",
)


def canonical_json(value) -> str:
    # ensure_ascii escapes every control character and line separator, so no
    # field value can end a line early or forge a second record.
    return json.dumps(value, ensure_ascii=True, sort_keys=True, separators=(",", ":"), allow_nan=False)


def compute_hash(record: dict) -> str:
    body = {key: value for key, value in record.items() if key != "hash"}
    return hashlib.sha256(canonical_json(body).encode("ascii")).hexdigest()


def serialize_line(record: dict) -> bytes:
    unknown = sorted(set(record) - set(FIELD_ORDER))
    if unknown:
        # The hash covers every field, so a field left out of the line would
        # make the record fail verification.
        raise ValueError(f"Audit records have no field(s) {', '.join(unknown)}; the fields are {', '.join(FIELD_ORDER)}.")
    ordered = {key: record[key] for key in FIELD_ORDER if key in record}
    line = json.dumps(ordered, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return line.encode("ascii") + b"\n"


def seal(record: dict, seq: int, prev_hash: str) -> dict:
    """Return ``record`` with seq, prev_hash and hash filled in."""
    sealed = dict(record)
    sealed["seq"] = seq
    sealed["prev_hash"] = prev_hash
    sealed["hash"] = compute_hash(sealed)
    return sealed
