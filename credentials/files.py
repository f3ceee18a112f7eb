"""Private files: atomic replacement, cross-process locks and permissions.

A write never truncates the file in place: the new content goes to a temp
file in the same folder, is flushed to disk, gets mode 0600 and then
replaces the old file with one rename. A reader, or a writer killed at any
moment, therefore leaves either the old or the new version. Temp files left
by a killed writer are removed by the next writer, under the lock.
"""

import contextlib
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import filelock

from credentials.exceptions import SecretsLockTimeout

FILE_MODE = 0o600
FOLDER_MODE = 0o700
TEMP_SUFFIX = ".tmp"


def temp_prefix(path: Path) -> str:
    return f".{path.name}."


def lock_path(path: Path, purpose: str = "") -> Path:
    """Return the lock file for ``path``; ``purpose`` names a lock of its own, such as a token refresh."""
    if not purpose:
        return path.parent / f".{path.name}.lock"
    # Hashing keeps any purpose, whatever its characters, a valid file name.
    digest = hashlib.sha256(purpose.encode("utf-8")).hexdigest()[:16]
    return path.parent / f".{path.name}.{digest}.lock"


def ensure_private_folder(folder: Path) -> None:
    """Create ``folder`` if needed and give it mode 0700, whatever the umask."""
    folder.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    if stat.S_IMODE(folder.stat().st_mode) != FOLDER_MODE:
        os.chmod(folder, FOLDER_MODE)


@contextlib.contextmanager
def locked(path: Path, timeout: float, purpose: str = "") -> Iterator[None]:
    """Hold an exclusive lock shared by every process that writes ``path``."""
    ensure_private_folder(path.parent)
    lock = filelock.FileLock(lock_path(path, purpose), timeout=timeout, mode=FILE_MODE)
    try:
        lock.acquire()
    except filelock.Timeout:
        lock_name = f"the {purpose} lock" if purpose else "the lock"
        raise SecretsLockTimeout(
            f"Another process held {lock_name} of {path} for more than {timeout:g} seconds. "
            "Try again; if it persists, look for a stuck Dango process."
        ) from None
    try:
        yield
    finally:
        lock.release()


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one rename; the file ends with mode 0600."""
    folder = path.parent
    ensure_private_folder(folder)
    fd, temp_name = tempfile.mkstemp(prefix=temp_prefix(path), suffix=TEMP_SUFFIX, dir=folder)
    try:
        # mkstemp already uses 0600, but a umask of 0177 or stricter would
        # strip owner bits; set the mode explicitly.
        os.fchmod(fd, FILE_MODE)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(temp_name)
        raise
    os.close(fd)
    os.replace(temp_name, path)
    _fsync_folder(folder)


def _fsync_folder(folder: Path) -> None:
    # Without this the rename itself may be lost on power failure.
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temp_files(path: Path) -> list[Path]:
    """Delete temp files of ``path`` left by killed writers; call only while holding the lock."""
    removed = []
    for candidate in path.parent.glob(f"{temp_prefix(path)}*{TEMP_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()
            removed.append(candidate)
    return removed


def file_mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None
