"""Append-only JSONL writer shared safely by many processes.

Each append takes an exclusive ``flock`` on a lock file beside the log, reads
the chain head (last seq and hash) from the end of the current file, and
writes one complete line through a descriptor opened with O_APPEND. The lock
file, not the log, is locked, so rotation (a rename) cannot let two writers
hold locks on different files. Rotated files are renamed once to
``<name>.<number>`` (000001 is the oldest) and never written again; the chain
continues across them.
"""

import fcntl
import json
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from audit.chain import GENESIS_HASH, seal, serialize_line

logger = logging.getLogger("audit")

ROTATED_SUFFIX = re.compile(r"^\.(\d{6})$")
TAIL_CHUNK = 64 * 1024


class AuditLogCorrupted(Exception):
    """The log's last line cannot be parsed, so the chain head is unknown."""


@dataclass
class ChainHead:
    seq: int
    hash: str


def rotated_files(path: Path) -> list[Path]:
    """Return the rotated files of ``path``, oldest first."""
    found = []
    if path.parent.is_dir():
        for candidate in path.parent.iterdir():
            if candidate.name.startswith(path.name):
                match = ROTATED_SUFFIX.match(candidate.name[len(path.name):])
                if match:
                    found.append((int(match.group(1)), candidate))
    return [file for _, file in sorted(found)]


def all_log_files(path: Path) -> list[Path]:
    """Return rotated files oldest first, then the current file if it exists."""
    files = rotated_files(path)
    if path.exists():
        files.append(path)
    return files


def read_last_line(handle) -> bytes | None:
    """Return the last complete line of an open binary file, or None if it is empty."""
    handle.seek(0, os.SEEK_END)
    end = handle.tell()
    if end == 0:
        return None
    position = end
    buffer = b""
    while position > 0:
        step = min(TAIL_CHUNK, position)
        position -= step
        handle.seek(position)
        buffer = handle.read(step) + buffer
        stripped = buffer.rstrip(b"\n")
        newline = stripped.rfind(b"\n")
        if newline != -1:
            return stripped[newline + 1:]
    return buffer.rstrip(b"\n")


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
    def __init__(self, path: Path, max_bytes: int = 0, fsync: bool = True):
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.max_bytes = max_bytes
        self.fsync = fsync
        self._thread_lock = threading.Lock()
        self._lock_fd: int | None = None
        self._log_fd: int | None = None
        self._log_identity: tuple[int, int] | None = None
        # Cached chain head, valid while the file still has the size we left it at.
        self._cached_head: ChainHead | None = None
        self._cached_size: int | None = None

    def append(self, record: dict) -> dict:
        """Seal ``record`` into the chain and write it as one line; return the sealed record."""
        with self._thread_lock:
            self._ensure_lock_fd()
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                fd = self._current_log_fd()
                size = os.fstat(fd).st_size
                if self.max_bytes and size >= self.max_bytes:
                    head = self._head(fd, size)
                    self._rotate()
                    fd = self._current_log_fd()
                    size = 0
                else:
                    head = self._head(fd, size)
                sealed = seal(record, head.seq + 1, head.hash)
                line = serialize_line(sealed)
                written = os.write(fd, line)
                if written != len(line):
                    raise OSError(f"short write to {self.path}: {written} of {len(line)} bytes")
                if self.fsync:
                    os.fsync(fd)
                self._cached_head = ChainHead(sealed["seq"], sealed["hash"])
                self._cached_size = size + len(line)
                return sealed
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def close(self) -> None:
        for fd in (self._log_fd, self._lock_fd):
            if fd is not None:
                os.close(fd)
        self._log_fd = self._lock_fd = None
        self._log_identity = None

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
            self._log_fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            stat = os.fstat(self._log_fd)
            self._log_identity = (stat.st_dev, stat.st_ino)
            self._cached_head = None
        return self._log_fd

    def _head(self, fd: int, size: int) -> ChainHead:
        if self._cached_head is not None and self._cached_size == size:
            return self._cached_head
        if size == 0:
            # An empty current file continues the newest rotated file, if any.
            rotated = rotated_files(self.path)
            if not rotated:
                return ChainHead(0, GENESIS_HASH)
            with open(rotated[-1], "rb") as handle:
                line = read_last_line(handle)
            return parse_head(line, rotated[-1]) if line else ChainHead(0, GENESIS_HASH)
        with open(self.path, "rb") as handle:
            line = read_last_line(handle)
        return parse_head(line, self.path)

    def _rotate(self) -> None:
        rotated = rotated_files(self.path)
        number = int(rotated[-1].name.rsplit(".", 1)[1]) + 1 if rotated else 1
        target = self.path.with_name(f"{self.path.name}.{number:06d}")
        os.rename(self.path, target)
        logger.info("Rotated the audit log to %s", target.name)
