"""Scrub text with the secrets currently in the store.

The log filter and the error reporter call ``scrub`` for every record and
report, so the store's values are cached and re-read only when the file's
size, modification time or inode changes. When the file cannot be read or
parsed, the values from the last good read stay in use.
"""

import os
import threading

from django.conf import settings

from credentials.exceptions import CredentialsError
from credentials.masking import scrub_text

_lock = threading.Lock()
_cache: dict[str, tuple[tuple, frozenset[str]]] = {}
_reading = threading.local()


def _file_signature(path) -> tuple | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_size, info.st_mtime_ns, info.st_ino)


def current_secret_strings() -> frozenset[str]:
    """Return the secret strings stored in secrets.toml right now (empty before Django is configured)."""
    if not settings.configured or getattr(_reading, "active", False):
        return frozenset()
    from credentials.actions import get_store

    store = get_store()
    key = str(store.path)
    signature = _file_signature(store.path)
    with _lock:
        cached = _cache.get(key)
    if cached is not None and cached[0] == signature:
        return cached[1]
    if signature is None:
        values: frozenset[str] = frozenset()
    else:
        # Reading the store may log; the flag keeps that from re-entering here.
        _reading.active = True
        try:
            values = frozenset(store.secret_strings())
        except (CredentialsError, OSError):
            return cached[1] if cached is not None else frozenset()
        finally:
            _reading.active = False
    with _lock:
        _cache[key] = (signature, values)
    return values


def scrub(text: str) -> str:
    """Mask every store value and every known secret shape in ``text``."""
    if not isinstance(text, str) or not text:
        return text
    # str() turns lazy strings, which pass isinstance(str), into real ones.
    return scrub_text(str(text), current_secret_strings())
