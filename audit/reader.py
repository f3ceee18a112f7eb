"""Read audit log files forwards or backwards without loading them whole.

``Snapshot`` fixes which files and which bytes belong to a read: it
takes a shared lock on the writers' lock file for a moment, lists the
files and notes the current file's size. Writers append whole lines under
the exclusive lock, so the snapshot never ends inside a line that is being
written, and a rotation during the read cannot hide a file.
"""

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from audit.files import lock_path_for, rotated_files

CHUNK_SIZE = 64 * 1024


@dataclass(frozen=True)
class LogFile:
    """One file of a snapshot and the number of bytes of it that belong to the snapshot."""

    path: Path
    size: int


def read_last_line(handle: BinaryIO) -> tuple[bytes | None, bool]:
    """Return the last line of an open binary file and whether it ends with a newline.

    The line is None when the file is empty.
    """
    handle.seek(0, os.SEEK_END)
    end = handle.tell()
    if end == 0:
        return None, True
    for line in iter_lines_backward(handle, end):
        handle.seek(end - 1)
        return line, handle.read(1) == b"\n"
    return None, True


def iter_lines_backward(handle: BinaryIO, end: int, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield the lines of ``handle[:end]`` from the last to the first, without newlines.

    Reads ``chunk_size`` bytes at a time from the end, so the newest lines
    of a large file cost only the chunks that hold them.
    """
    position = end
    pending = b""
    at_end = True
    while position > 0:
        step = min(chunk_size, position)
        position -= step
        handle.seek(position)
        buffer = handle.read(step) + pending
        if at_end:
            at_end = False
            # The newline at the end of the file ends the last line; no empty line follows it.
            if buffer.endswith(b"\n"):
                buffer = buffer[:-1]
        parts = buffer.split(b"\n")
        # parts[0] may continue in the chunk before this one.
        pending = parts[0]
        yield from reversed(parts[1:])
    if not at_end:
        yield pending


def iter_lines_forward(handle: BinaryIO, end: int) -> Iterator[bytes]:
    """Yield the lines of ``handle[:end]`` from the first, without newlines."""
    handle.seek(0)
    remaining = end
    tail = b""
    while remaining > 0:
        buffer = handle.read(min(CHUNK_SIZE, remaining))
        if not buffer:
            break
        remaining -= len(buffer)
        lines = (tail + buffer).split(b"\n")
        tail = lines.pop()
        yield from lines
    if tail:
        yield tail


@contextmanager
def _shared_lock(path: Path):
    try:
        fd = os.open(lock_path_for(path), os.O_RDONLY)
    except FileNotFoundError:
        # No writer has ever run, so nothing can change under the reader.
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


class Snapshot:
    """The files of one log as they were at one moment, oldest first.

    The current file is opened while the lock is held, so a later rotation
    (a rename) does not change what this snapshot reads. Rotated files are
    never written again and are opened only when read.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._current: BinaryIO | None = None
        with _shared_lock(self.path):
            rotated = [LogFile(file, file.stat().st_size) for file in rotated_files(self.path)]
            try:
                self._current = open(self.path, "rb")
            except FileNotFoundError:
                self._current = None
            if self._current is not None:
                rotated.append(LogFile(self.path, os.fstat(self._current.fileno()).st_size))
        self.files: list[LogFile] = rotated

    def open(self, file: LogFile) -> BinaryIO:
        """Return a binary handle on ``file``; the caller closes it with ``release``."""
        if file.path == self.path and self._current is not None:
            return self._current
        return open(file.path, "rb")

    def release(self, handle: BinaryIO) -> None:
        if handle is not self._current:
            handle.close()

    def lines_newest_first(self) -> Iterator[tuple[LogFile, bytes]]:
        for file in reversed(self.files):
            handle = self.open(file)
            try:
                for line in iter_lines_backward(handle, file.size):
                    yield file, line
            finally:
                self.release(handle)

    def lines_oldest_first(self) -> Iterator[tuple[LogFile, int, bytes]]:
        """Yield (file, line number from 1, line) for every line of the snapshot."""
        for file in self.files:
            handle = self.open(file)
            try:
                for number, line in enumerate(iter_lines_forward(handle, file.size), start=1):
                    yield file, number, line
            finally:
                self.release(handle)

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None

    def __enter__(self) -> "Snapshot":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
