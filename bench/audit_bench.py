"""Benchmark the audit log: append rate and newest-first queries on a large log.

Usage (from the repository root):

    python bench/audit_bench.py [--records 1000000] [--folder /tmp]

Prints, from one run:

1. appends per second for a raw ``O_APPEND`` write of a line of the same size,
   and for ``AuditWriter`` (flock, chain head, seal, write), each without and
   with ``fsync``, as ratios to the raw append;
2. the time of ``audit.query.query(limit=100)`` on a log of ``--records``
   records against a full scan that parses every line and keeps the last 100.

The large log is built with the chain functions directly (the same sealing
as the writer, without the per-record lock) so that setting it up takes
seconds, then rotated into 50 MiB files like the writer does.
"""

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audit.chain import GENESIS_HASH, seal, serialize_line  # noqa: E402
from audit.files import all_log_files  # noqa: E402
from audit.query import query  # noqa: E402
from audit.writer import AuditWriter  # noqa: E402

ROTATE_BYTES = 50 * 1024 * 1024


def sample_record(index: int) -> dict:
    return {
        "event": "login_failure" if index % 7 == 0 else "login_success",
        "actor": {"id": index % 500, "email": f"user{index % 500}@example.com"},
        "target": {"type": "user", "id": index % 500, "email": f"user{index % 500}@example.com"},
        "ip": f"192.0.2.{index % 250}",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
        "request_id": f"{index:032x}",
        "details": {"backend": "django.contrib.auth.backends.ModelBackend"},
    }


def measure(function, count: int) -> float:
    """Return calls per second of ``function(index)`` over ``count`` calls."""
    start = time.perf_counter()
    for index in range(count):
        function(index)
    return count / (time.perf_counter() - start)


def bench_appends(folder: Path, count: int, fsync_count: int) -> None:
    line = serialize_line(seal({**sample_record(0), "ts": "2026-01-01T00:00:00.000000Z"}, 1, GENESIS_HASH))

    def raw_append(path: Path, sync: bool):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

        def append(index):
            os.write(fd, line)
            if sync:
                os.fsync(fd)

        return append, fd

    results = {}
    for name, sync, n in [("raw", False, count), ("raw+fsync", True, fsync_count)]:
        append, fd = raw_append(folder / f"{name}.jsonl", sync)
        results[name] = measure(append, n)
        os.close(fd)
    for name, sync, n in [("audit", False, count), ("audit+fsync", True, fsync_count)]:
        writer = AuditWriter(folder / f"{name}.jsonl", fsync=sync)
        results[name] = measure(lambda index: writer.append(sample_record(index)), n)
        writer.close()

    print(f"Append rate ({len(line)}-byte lines; {count} appends, {fsync_count} with fsync):")
    for name in ("raw", "audit", "raw+fsync", "audit+fsync"):
        print(f"  {name:12} {results[name]:>12,.0f} appends/s")
    print(f"  audit / raw              = {results['audit'] / results['raw']:.3f}")
    print(f"  audit+fsync / raw+fsync  = {results['audit+fsync'] / results['raw+fsync']:.3f}")
    print(f"  audit+fsync / raw        = {results['audit+fsync'] / results['raw']:.4f}")


def build_large_log(path: Path, count: int) -> None:
    previous = GENESIS_HASH
    rotated = 0
    handle = open(path, "wb")
    size = 0
    start = time.perf_counter()
    for index in range(count):
        if size >= ROTATE_BYTES:
            handle.close()
            rotated += 1
            os.rename(path, path.with_name(f"{path.name}.{rotated:06d}"))
            handle = open(path, "wb")
            size = 0
        record = dict(sample_record(index), ts=f"2026-01-01T00:00:00.{index % 1_000_000:06d}Z")
        sealed = seal(record, index + 1, previous)
        data = serialize_line(sealed)
        handle.write(data)
        size += len(data)
        previous = sealed["hash"]
    handle.close()
    total = sum(file.stat().st_size for file in all_log_files(path))
    print(f"Built a log of {count:,} records, {total / 1024 / 1024:.0f} MiB in {rotated + 1} files "
          f"({time.perf_counter() - start:.1f} s).")


def full_scan_newest(path: Path, limit: int) -> list[dict]:
    newest = deque(maxlen=limit)
    for file in all_log_files(path):
        with open(file, "rb") as handle:
            for line in handle:
                newest.append(json.loads(line))
    return list(reversed(newest))


def bench_query(folder: Path, count: int) -> None:
    path = folder / "large.jsonl"
    build_large_log(path, count)

    start = time.perf_counter()
    result = query(limit=100, path=path)
    query_seconds = time.perf_counter() - start

    start = time.perf_counter()
    scanned = full_scan_newest(path, 100)
    scan_seconds = time.perf_counter() - start

    assert [record["seq"] for record in result.records] == [record["seq"] for record in scanned]
    assert result.records[0]["seq"] == count
    print(f"Newest 100 of {count:,} records:")
    print(f"  audit query (backwards read)  {query_seconds * 1000:>10.1f} ms")
    print(f"  full scan (parse every line)  {scan_seconds * 1000:>10.1f} ms")
    print(f"  full scan / audit query       = {scan_seconds / query_seconds:,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="Records in the large log (default 1000000).")
    parser.add_argument("--appends", type=int, default=20_000, help="Appends per mode without fsync (default 20000).")
    parser.add_argument("--fsync-appends", type=int, default=2_000, help="Appends per mode with fsync (default 2000).")
    parser.add_argument("--folder", default=None, help="Folder for the temporary logs (default: the system's).")
    options = parser.parse_args()

    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs")
    folder = Path(tempfile.mkdtemp(prefix="audit-bench-", dir=options.folder))
    try:
        bench_appends(folder, options.appends, options.fsync_appends)
        bench_query(folder, options.records)
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
