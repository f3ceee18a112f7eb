"""The secrets store: ``<project root>/.dlt/secrets.toml`` in dlt's own layout.

Reads take no lock, because writes replace the file in one rename. Writes
take a file lock shared by all processes, re-read the file under it, apply
the edit with ``credentials.document`` (which keeps every other byte) and
replace the file atomically with mode 0600 in a 0700 folder. A file that
does not parse is never written. The table ``[dango]`` is reserved for
Dango's own metadata, such as OAuth token expiry.

This module imports nothing from Django, so worker processes and scripts
can use ``SecretsStore`` directly.
"""

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from credentials import files, gitignore
from credentials.document import SecretsDocument, TomlValue, decode_text
from credentials.exceptions import SecretsFileError
from credentials.paths import Path as KeyPath
from credentials.paths import format_path

logger = logging.getLogger("credentials")

SECRETS_RELATIVE_PATH = Path(".dlt") / "secrets.toml"
RESERVED_TABLE = "dango"
# Keys of the reserved table whose values are secret; the rest (account,
# scopes, expiry, status) is metadata that may be shown.
RESERVED_SECRET_KEYS = frozenset({"access_token"})


@dataclass(frozen=True)
class StoredValue:
    """One value in the file: its path and the group (source) it belongs to."""

    path: KeyPath
    value: Any

    @property
    def dotted_path(self) -> str:
        return format_path(self.path)

    @property
    def group(self) -> KeyPath:
        """``sources.<name>`` (or ``<section>.<name>``) for nested values, else the top-level key."""
        return self.path[:2] if len(self.path) > 2 else self.path[:1]

    @property
    def key(self) -> str:
        return format_path(self.path[len(self.group) :]) if len(self.path) > 2 else format_path(self.path)

    @property
    def is_secret(self) -> bool:
        if self.path[0] == RESERVED_TABLE:
            return self.path[-1] in RESERVED_SECRET_KEYS
        return True


def _walk(node: Any, prefix: KeyPath) -> Iterator[StoredValue]:
    for key, value in node.items():
        path = prefix + (key,)
        if isinstance(value, dict):
            yield from _walk(value, path)
        else:
            yield StoredValue(path, value)


def _strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings_in(item)


class SecretsStore:
    def __init__(self, project_root: Path | str, lock_timeout: float = 10.0):
        self.project_root = Path(project_root)
        self.path = self.project_root / SECRETS_RELATIVE_PATH
        self.lock_timeout = lock_timeout

    @property
    def display_name(self) -> str:
        return str(SECRETS_RELATIVE_PATH)

    def exists(self) -> bool:
        return self.path.exists()

    def read_document(self) -> SecretsDocument:
        """Parse the file as it is now (an empty document when it does not exist)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            raw = b""
        except OSError as error:
            raise SecretsFileError(
                f"Cannot read {self.display_name}: {error.strerror}. Make it readable by the user running Dango."
            ) from None
        return SecretsDocument(decode_text(raw, self.display_name), self.display_name)

    def load(self) -> dict[str, Any]:
        return self.read_document().data

    def get(self, path: "str | KeyPath") -> Any:
        return self.read_document().lookup(path)

    def values(self) -> list[StoredValue]:
        """Return every value in file order, except those of the reserved ``[dango]`` table."""
        return [stored for stored in _walk(self.load(), ()) if stored.path[0] != RESERVED_TABLE]

    def groups(self) -> dict[KeyPath, list[StoredValue]]:
        """Group the values by source (``sources.<name>``) or top-level section, in file order."""
        grouped: dict[KeyPath, list[StoredValue]] = {}
        for stored in self.values():
            grouped.setdefault(stored.group, []).append(stored)
        return grouped

    def secret_strings(self) -> set[str]:
        """Return every secret string in the file, for scrubbing them out of logs and reports."""
        strings = set()
        for stored in _walk(self.load(), ()):
            if stored.is_secret:
                strings.update(_strings_in(stored.value))
        return strings

    def _file_error(self, action: str, error: OSError) -> "SecretsFileError":
        return SecretsFileError(
            f"Cannot {action} {self.display_name}: {error.strerror or error}. Check that the user running "
            f"Dango owns {self.path.parent} and that the disk is not full or read-only."
        )

    @contextlib.contextmanager
    def edit(self) -> Iterator[SecretsDocument]:
        """Lock the file, yield its document for changes, then write it atomically if it changed.

        An exception inside the block leaves the file untouched. Errors of the
        file system become SecretsFileError; the caller's own errors pass as they are.
        """
        stack = contextlib.ExitStack()
        try:
            stack.enter_context(files.locked(self.path, self.lock_timeout))
            stale_files = files.remove_stale_temp_files(self.path)
        except OSError as error:
            stack.close()
            raise self._file_error("lock", error) from None
        with stack:
            for stale in stale_files:
                logger.warning("Removed %s, left behind by an interrupted write", stale.name)
            document = self.read_document()
            original = document.text
            yield document
            written = document.text != original
            try:
                if written:
                    files.atomic_write(self.path, document.text.encode("utf-8"))
                elif self.path.exists() and files.file_mode(self.path) != files.FILE_MODE:
                    self.path.chmod(files.FILE_MODE)
            except OSError as error:
                raise self._file_error("write", error) from None
        if written:
            gitignore.ensure_ignored(self.project_root)

    def set(self, path: "str | KeyPath", value: TomlValue) -> bool:
        """Store ``value`` at ``path``; return True when the key is new."""
        with self.edit() as document:
            return document.set(path, value)

    def delete(self, path: "str | KeyPath") -> None:
        with self.edit() as document:
            document.delete(path)
