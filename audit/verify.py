"""Check the hash chain of the whole log, rotated files included.

The check stops at the first break and names the seq where the chain
breaks and why. A hash chain cannot show that records were cut off the end
of the log, so the result carries the head (last seq and hash). Keeping a
copy of the head elsewhere, or shipping the log to a SIEM, closes that gap.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from audit import app_settings
from audit.chain import FIELD_ORDER, GENESIS_HASH, compute_hash
from audit.reader import LogFile, Snapshot

MAX_WARNINGS = 20


@dataclass(frozen=True)
class ChainBreak:
    """First break of the chain: the seq concerned, its file and line, and the reason."""

    seq: int | None
    file: Path
    line: int
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line} of {self.file}"
        if self.seq is None:
            return f"{where}: {self.reason}"
        return f"seq {self.seq} ({where}): {self.reason}"


@dataclass
class VerifyResult:
    records: int = 0
    files: int = 0
    first_seq: int | None = None
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    chain_break: ChainBreak | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.chain_break is None


def _ends_with_newline(snapshot: Snapshot, file: LogFile) -> bool:
    if file.size == 0:
        return True
    handle = snapshot.open(file)
    try:
        handle.seek(file.size - 1)
        return handle.read(1) == b"\n"
    finally:
        snapshot.release(handle)


def _check_record(record: dict, expected_seq: int, previous_hash: str) -> tuple[int | None, str] | None:
    """Return (seq to name, reason) when ``record`` does not continue the chain, else None."""
    missing = [name for name in FIELD_ORDER if name not in record]
    if missing:
        return expected_seq, f"the record lacks the field(s) {', '.join(missing)}"
    seq = record["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool):
        return expected_seq, f"seq {seq!r} is not a whole number"
    if seq > expected_seq:
        if expected_seq == 1:
            return expected_seq, (
                f"the chain starts at seq {seq}, not at seq 1: older records or rotated files are missing"
            )
        return expected_seq, (
            f"seq {expected_seq} is missing: seq {seq} follows seq {expected_seq - 1} (records were deleted)"
        )
    if seq < expected_seq:
        return seq, f"seq {seq} appears again after seq {expected_seq - 1} (a record was inserted or moved)"
    if compute_hash(record) != record["hash"]:
        return seq, "the hash does not match the record's content (the record was edited)"
    if record["prev_hash"] != previous_hash:
        if seq == 1:
            return seq, "prev_hash is not the genesis hash (the first record was replaced)"
        return seq, (
            f"prev_hash does not match the hash of seq {seq - 1} "
            "(the record before it was replaced, or this record was moved)"
        )
    return None


def verify_chain(path: Path | None = None) -> VerifyResult:
    """Check every record of the log at ``path`` (default: the configured log) in order."""
    result = VerifyResult()
    previous_ts = None
    with Snapshot(Path(path) if path else app_settings.log_path()) as snapshot:
        result.files = len(snapshot.files)
        for file, number, line in snapshot.lines_oldest_first():
            expected_seq = result.head_seq + 1
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                result.chain_break = ChainBreak(expected_seq, file.path, number, "the line is not a JSON record")
                return result

            problem = _check_record(record, expected_seq, result.head_hash)
            if problem is not None:
                result.chain_break = ChainBreak(problem[0], file.path, number, problem[1])
                return result

            if previous_ts is not None and isinstance(record["ts"], str) and record["ts"] < previous_ts:
                if len(result.warnings) < MAX_WARNINGS:
                    result.warnings.append(
                        f"ts goes back at seq {record['seq']}: {record['ts']} follows {previous_ts} "
                        "(the clock stepped back; time filters near it may miss records)"
                    )
            previous_ts = record["ts"]
            if result.first_seq is None:
                result.first_seq = record["seq"]
            result.records += 1
            result.head_seq = record["seq"]
            result.head_hash = record["hash"]

        for file in snapshot.files:
            if not _ends_with_newline(snapshot, file):
                result.chain_break = ChainBreak(
                    None, file.path, _count_lines(snapshot, file), "the last line has no newline (a write was cut off)"
                )
                return result
    return result


def _count_lines(snapshot: Snapshot, file: LogFile) -> int:
    handle = snapshot.open(file)
    try:
        handle.seek(0)
        return handle.read(file.size).count(b"\n") + 1
    finally:
        snapshot.release(handle)
