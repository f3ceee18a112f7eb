"""Append-only JSONL writer shared safely by many processes.

Each append takes an exclusive ``flock`` on a lock file beside the log, reads
the chain head (last seq and hash) from the end of the current file, and
writes one complete line through a descriptor opened with O_APPEND. The lock
file, not the log, is locked, so rotation (a rename) cannot let two writers
hold locks on different files. Rotated files are renamed once to
``<name>.<number>`` (000001 is the oldest) and never written again; the chain
continues across them.

The writer stamps ``ts`` while it holds the lock, so the order of lines in
the files is also the order of their timestamps unless the system clock
steps back.
"""

import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from audit.chain import GENESIS_HASH, seal, serialize_line
from audit.files import lock_path_for, rotated_files
from audit.reader import read_last_line

logger = logging.getLogger("audit")


class AuditLogCorrupted(Exception):
    """The log's last line cannot be parsed, so the chain head is unknown."""


@dataclass
class ChainHead:
    seq: int
    hash: str


def utc_timestamp() -> str:
    """Return the current UTC time in the log's fixed format, e.g. 2026-01-02T03:04:05.123456Z."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_head(line: bytes, source: Path) -> ChainHead:
    try:
        record = json.loads(line)
        return ChainHead(seq=int(record["seq"]), hash=str(record["hash"]))
    except (ValueError, KeyError, TypeError):
        raise AuditLogCorrupted(
            f"The last line of {source} is not a valid audit record, so new records cannot be chained. "
            "Run 'manage.py audit verify' to find the damage."
        ) from None


class AuditWriter:
    """Append sealed records to ``path``; safe across threads and processes.

    ``clock`` returns the ``ts`` string of each record; tests replace it.
    """

    def __init__(self, path: Path, max_bytes: int = 0, fsync: bool = True,
                 clock: Callable[[], str] = utc_timestamp):
        self.path = Path(path)
        self.lock_path = lock_path_for(self.path)
        self.max_bytes = max_bytes
        self.fsync = fsync
        self.clock = clock
        self._thread_lock = threading.Lock()
        self._pid = os.getpid()
        self._lock_fd: int | None = None
        self._log_fd: int | None = None
        self._log_identity: tuple[int, int] | None = None
        # Cached chain head, valid while the file still has the size we left it at.
        self._cached_head: ChainHead | None = None
        self._cached_size: int | None = None

    def append(self, record: dict) -> dict:
        """Stamp ``record`` with ``ts``, seal it into the chain and write it as one line.

        Returns the sealed record. Raises OSError when the log cannot be
        written and AuditLogCorrupted when its last line is damaged.
        """
        with self._thread_lock:
            self._forget_inherited_descriptors()
            self._ensure_lock_fd()
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                return self._append_locked(record)
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def close(self) -> None:
        with self._thread_lock:
            self._close_descriptors()

    def _append_locked(self, record: dict) -> dict:
        fd = self._current_log_fd()
        size = os.fstat(fd).st_size
        head = self._head(size)
        if self.max_bytes and size >= self.max_bytes:
            self._rotate()
            fd = self._current_log_fd()
            size = os.fstat(fd).st_size

        stamped = dict(record)
        stamped["ts"] = self.clock()
        sealed = seal(stamped, head.seq + 1, head.hash)
        line = serialize_line(sealed)
        self._write_line(fd, line, size)

        self._cached_head = ChainHead(sealed["seq"], sealed["hash"])
        self._cached_size = size + len(line)
        return sealed

    def _write_line(self, fd: int, line: bytes, size_before: int) -> None:
        try:
            written = os.write(fd, line)
            if written != len(line):
                raise OSError(f"short write to {self.path}: {written} of {len(line)} bytes")
            if self.fsync:
                os.fsync(fd)
        except OSError:
            # Cut off whatever part of the line reached the file (disk full,
            # quota), so the next record does not continue a torn line. The
            # lock is held, so no other writer has appended since.
            try:
                os.ftruncate(fd, size_before)
            except OSError:
                logger.exception("Could not remove a partly written audit record from %s", self.path)
            self._cached_head = None
            raise

    def _forget_inherited_descriptors(self) -> None:
        # A forked child shares the parent's open file descriptions, and flock
        # locks belong to those, so parent and child would not exclude each
        # other. The child therefore opens its own descriptors.
        if os.getpid() != self._pid:
            self._close_descriptors()
            self._pid = os.getpid()

    def _close_descriptors(self) -> None:
        for fd in (self._log_fd, self._lock_fd):
            if fd is not None:
                os.close(fd)
        self._log_fd = self._lock_fd = None
        self._log_identity = None
        self._cached_head = None

    def _ensure_lock_fd(self) -> None:
        if self._lock_fd is None:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)

    def _current_log_fd(self) -> int:
        """Return a descriptor for the file now at ``path``, reopening after a rotation."""
        try:
            stat = os.stat(self.path)
            identity = (stat.st_dev, stat.st_ino)
        except FileNotFoundError:
            identity = None
        if self._log_fd is None or identity != self._log_identity:
            if self._log_fd is not None:
                os.close(self._log_fd)
                self._log_fd = None
            self._log_fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            stat = os.fstat(self._log_fd)
            self._log_identity = (stat.st_dev, stat.st_ino)
            self._cached_head = None
        return self._log_fd

    def _head(self, size: int) -> ChainHead:
        if self._cached_head is not None and self._cached_size == size:
            return self._cached_head
        if size == 0:
            # An empty current file continues the newest rotated file, if any.
            rotated = rotated_files(self.path)
            if not rotated:
                return ChainHead(0, GENESIS_HASH)
            return self._read_head(rotated[-1])
        return self._read_head(self.path)

    def _read_head(self, source: Path) -> ChainHead:
        with open(source, "rb") as handle:
            line, complete = read_last_line(handle)
        if line is None:
            return ChainHead(0, GENESIS_HASH)
        if not complete:
            raise AuditLogCorrupted(
                f"{source} ends in an incomplete line (a write was cut off), so new records cannot be chained. "
                "Run 'manage.py audit verify', keep a copy of the file, then remove the incomplete last line."
            )
        return parse_head(line, source)

    def _rotate(self) -> None:
        rotated = rotated_files(self.path)
        number = int(rotated[-1].name.rsplit(".", 1)[1]) + 1 if rotated else 1
        target = self.path.with_name(f"{self.path.name}.{number:06d}")
        os.rename(self.path, target)
        if self.fsync:
            # Make the rename durable before records go to the new file.
            directory = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        logger.info("Rotated the audit log to %s", target.name)
