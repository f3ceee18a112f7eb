import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from audit.writer import AuditWriter

BASE_RECORD = {"actor": None, "target": None, "ip": None, "user_agent": "", "request_id": None, "details": {}}


class FixedClock:
    """A writer clock that starts at a fixed time and moves one second per record."""

    def __init__(self, start: str = "2026-03-01T12:00:00"):
        from datetime import datetime, timedelta, timezone

        self.moment = datetime.fromisoformat(start).replace(tzinfo=timezone.utc)
        self.step = timedelta(seconds=1)

    def __call__(self) -> str:
        value = self.moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self.moment += self.step
        return value


def make_record(event: str = "logout", **fields) -> dict:
    return {**BASE_RECORD, "event": event, **fields}


def fill_log(path: Path, count: int, max_bytes: int = 0, clock=None, **fields) -> AuditWriter:
    writer = AuditWriter(path, max_bytes=max_bytes, fsync=False, clock=clock or FixedClock())
    for index in range(count):
        writer.append(make_record(details={"index": index}, **fields))
    return writer


def read_lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


@pytest.fixture
def run_audit(audit_log):
    """Run ``manage.py audit ARGS``; return (stdout, stderr)."""

    def run(*args: str) -> tuple[str, str]:
        stdout, stderr = io.StringIO(), io.StringIO()
        call_command("audit", *args, stdout=stdout, stderr=stderr)
        return stdout.getvalue(), stderr.getvalue()

    return run


def parse_jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]
