"""Rotation of Django's SECRET_KEY in ``.dango/secret_key``.

The file holds the current key on its first line and fallback keys below it
(settings turn them into SECRET_KEY and SECRET_KEY_FALLBACKS). Rotating puts
a new key first and keeps the old ones as fallbacks, so sessions,
password-reset links and signed values made before keep working; finishing
drops the fallbacks, which ends those sessions and invalidates those links.
Running processes read the file at start-up, so restart them after each step.
"""

import os
import secrets
from pathlib import Path

from django.conf import settings

from dango_site.env import read_secret_key_file, write_private_file


def secret_key_path() -> Path:
    return Path(settings.STATE_DIR) / "secret_key"


def _write(path: Path, keys: list[str]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    if temporary.exists():
        temporary.unlink()
    write_private_file(temporary, "".join(key + "\n" for key in keys))
    os.replace(temporary, path)


def rotate_secret_key(path: Path | None = None) -> int:
    """Make a new current key and keep every old one as a fallback; return the fallback count."""
    path = path or secret_key_path()
    keys = read_secret_key_file(path)
    new_keys = [secrets.token_urlsafe(64), *keys]
    _write(path, new_keys)
    return len(new_keys) - 1


def finish_secret_key_rotation(path: Path | None = None) -> int:
    """Drop every fallback key; return how many were dropped."""
    path = path or secret_key_path()
    keys = read_secret_key_file(path)
    if len(keys) > 1:
        _write(path, keys[:1])
    return len(keys) - 1
