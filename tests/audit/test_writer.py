import json
import multiprocessing
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from audit.chain import GENESIS_HASH, compute_hash
from audit.files import all_log_files, rotated_files
from audit.verify import verify_chain
from audit.writer import AuditLogCorrupted, AuditWriter
from tests.audit.conftest import fill_log, make_record

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4
RECORDS_PER_WORKER = 2000

# Each worker waits for the start file so that all four append at once.
WORKER_SCRIPT = """
import os, sys, time
from pathlib import Path
from audit.writer import AuditWriter

path, worker, count, max_bytes, start_file = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
writer = AuditWriter(Path(path), max_bytes=max_bytes, fsync=False)
while not os.path.exists(start_file):
    time.sleep(0.001)
for index in range(count):
    writer.append({"event": "logout", "actor": None, "target": None, "ip": "192.0.2.%d" % worker,
                   "user_agent": "worker %d" % worker, "request_id": None,
                   "details": {"worker": worker, "index": index}})
"""


def run_workers(path: Path, max_bytes: int, tmp_path: Path) -> None:
    start_file = tmp_path / "start"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER_SCRIPT, str(path), str(worker), str(RECORDS_PER_WORKER), str(max_bytes),
             str(start_file)],
            cwd=REPO_ROOT,
        )
        for worker in range(WORKERS)
    ]
    start_file.touch()
    for process in processes:
        assert process.wait(timeout=300) == 0


def all_lines(path: Path) -> list[bytes]:
    lines = []
    for file in all_log_files(path):
        data = file.read_bytes()
        assert data.endswith(b"\n"), f"{file} ends inside a line"
        lines.extend(data.split(b"\n")[:-1])
    return lines


def assert_every_record_once(lines: list[bytes]) -> None:
    records = [json.loads(line) for line in lines]
    assert len(records) == WORKERS * RECORDS_PER_WORKER
    assert [record["seq"] for record in records] == list(range(1, WORKERS * RECORDS_PER_WORKER + 1))
    pairs = Counter((record["details"]["worker"], record["details"]["index"]) for record in records)
    assert len(pairs) == WORKERS * RECORDS_PER_WORKER
    assert set(pairs.values()) == {1}


def test_four_processes_write_whole_lines(tmp_path):
    """Four processes appending 2,000 records each leave 8,000 whole lines that verify."""
    path = tmp_path / "audit.jsonl"
    run_workers(path, max_bytes=0, tmp_path=tmp_path)

    assert rotated_files(path) == []
    assert_every_record_once(all_lines(path))
    result = verify_chain(path)
    assert result.ok, str(result.chain_break)
    assert result.records == 8000


def test_four_processes_across_rotation(tmp_path):
    """With a small maximum size the four writers rotate many times and the chain still verifies."""
    path = tmp_path / "audit.jsonl"
    run_workers(path, max_bytes=64 * 1024, tmp_path=tmp_path)

    assert len(rotated_files(path)) >= 10
    assert_every_record_once(all_lines(path))
    result = verify_chain(path)
    assert result.ok, str(result.chain_break)
    assert result.records == 8000
    assert result.files == len(rotated_files(path)) + 1


def test_rotation_continues_chain(tmp_path):
    """The first record of a new file chains to the last record of the rotated file."""
    path = tmp_path / "audit.jsonl"
    fill_log(path, 30, max_bytes=1500)

    files = all_log_files(path)
    assert len(files) > 2
    for older, newer in zip(files, files[1:]):
        last = json.loads(older.read_text().splitlines()[-1])
        first = json.loads(newer.read_text().splitlines()[0])
        assert first["seq"] == last["seq"] + 1
        assert first["prev_hash"] == last["hash"]
    assert [file.name for file in files[:2]] == ["audit.jsonl.000001", "audit.jsonl.000002"]
    for file in rotated_files(path):
        assert file.stat().st_size >= 1500


def test_first_record_starts_chain(tmp_path):
    """The first record has seq 1, the genesis prev_hash and a hash over its content."""
    path = tmp_path / "audit.jsonl"
    sealed = AuditWriter(path, fsync=True).append(make_record("login_success"))

    line = json.loads(path.read_text())
    assert line == sealed
    assert line["seq"] == 1
    assert line["prev_hash"] == GENESIS_HASH
    assert line["hash"] == compute_hash(line)
    assert list(line) == ["seq", "ts", "event", "actor", "target", "ip", "user_agent", "request_id", "details",
                          "prev_hash", "hash"]


def test_new_writer_continues_existing_log(tmp_path):
    """A writer opened on an existing log continues its chain."""
    path = tmp_path / "audit.jsonl"
    fill_log(path, 3)
    sealed = AuditWriter(path, fsync=False).append(make_record())

    assert sealed["seq"] == 4
    assert verify_chain(path).ok


def test_log_files_are_private(tmp_path):
    """The log, its lock file and a created folder are readable by the owner only."""
    path = tmp_path / "logs" / "audit.jsonl"
    fill_log(path, 1)

    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "logs" / "audit.jsonl.lock").stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


def _append_after_fork(writer: AuditWriter, count: int) -> None:
    for index in range(count):
        writer.append(make_record(details={"pid": os.getpid(), "index": index}))


def test_forked_children_take_their_own_lock(tmp_path):
    """Children forked from a process that already wrote still exclude each other."""
    path = tmp_path / "audit.jsonl"
    writer = AuditWriter(path, fsync=False)
    writer.append(make_record())
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=_append_after_fork, args=(writer, 300)) for _ in range(3)]
    for child in children:
        child.start()
    _append_after_fork(writer, 300)
    for child in children:
        child.join(timeout=120)
        assert child.exitcode == 0

    result = verify_chain(path)
    assert result.ok, str(result.chain_break)
    assert result.records == 1 + 4 * 300


def test_incomplete_last_line_stops_writer(tmp_path):
    """A last line cut off mid-write stops appends instead of continuing the torn line."""
    path = tmp_path / "audit.jsonl"
    fill_log(path, 2)
    with open(path, "ab") as handle:
        handle.write(b'{"seq":3,"ts":"2026')

    with pytest.raises(AuditLogCorrupted, match="incomplete line"):
        AuditWriter(path, fsync=False).append(make_record())
    assert path.read_bytes().endswith(b'{"seq":3,"ts":"2026')


def test_failed_write_leaves_no_partial_line(tmp_path, monkeypatch):
    """A short write is cut off again, so the next record starts on a clean line."""
    path = tmp_path / "audit.jsonl"
    writer = fill_log(path, 2)
    size_before = path.stat().st_size
    real_write = os.write

    def short_write(fd, data):
        return real_write(fd, data[:10])

    monkeypatch.setattr("audit.writer.os.write", short_write)
    with pytest.raises(OSError, match="short write"):
        writer.append(make_record())
    monkeypatch.setattr("audit.writer.os.write", real_write)

    assert path.stat().st_size == size_before
    assert writer.append(make_record())["seq"] == 3
    assert verify_chain(path).ok


def test_unknown_field_is_rejected(tmp_path):
    """A record with a field outside the format is refused before anything is written."""
    path = tmp_path / "audit.jsonl"
    with pytest.raises(ValueError, match="no field"):
        AuditWriter(path, fsync=False).append(make_record(password="x"))
    assert not path.exists() or path.read_bytes() == b""
