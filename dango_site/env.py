"""Environment parsing and the project folder's key files, used by settings.

Everything here runs at settings import time, before Django is configured, so
it may only use the standard library and raise ImproperlyConfigured.
"""

import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}

# Django's own check (security.W009) calls a key weak below 50 characters or 5
# distinct characters; a generated key is far above both.
MIN_SECRET_KEY_LENGTH = 50
MIN_SECRET_KEY_UNIQUE_CHARACTERS = 5


def get_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean. Use one of: true, false, 1, 0, yes, no, on, off."
    )


def get_int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum of {minimum}.")
    return value


def get_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def is_weak_secret_key(key: str) -> bool:
    return (
        len(key) < MIN_SECRET_KEY_LENGTH
        or len(set(key)) < MIN_SECRET_KEY_UNIQUE_CHARACTERS
        or key.startswith("django-insecure-")
    )


def write_private_file(path: Path, content: str) -> None:
    """Create ``path`` with mode 0600 from the first byte, refusing to replace a file."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def read_secret_key_file(path: Path) -> list[str]:
    """Return the keys in ``path``: the current key first, then fallbacks.

    The file holds one key per line. Rotation writes the new key on the first
    line and keeps older ones below it, so signatures made before a rotation
    still verify until the fallbacks are dropped.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except PermissionError:
        raise ImproperlyConfigured(
            f"Cannot read the secret key file {path}: permission denied. "
            "Make it readable by the user running Dango (mode 0600, owned by that user)."
        ) from None
    except UnicodeDecodeError:
        raise ImproperlyConfigured(
            f"The secret key file {path} is not UTF-8 text. Move it away and start Dango "
            "again to generate a new key (existing sessions will end)."
        ) from None

    keys = [line.strip() for line in text.splitlines() if line.strip()]
    if not keys:
        raise ImproperlyConfigured(
            f"The secret key file {path} is empty. Delete it and start Dango again to "
            "generate a new key (existing sessions will end)."
        )
    for number, key in enumerate(keys, start=1):
        if is_weak_secret_key(key):
            raise ImproperlyConfigured(
                f"The secret key on line {number} of {path} is malformed or too weak "
                f"(needs at least {MIN_SECRET_KEY_LENGTH} characters). Delete the file and "
                "start Dango again to generate a new key."
            )
    return keys


def load_or_create_secret_key(path: Path) -> list[str]:
    if not path.exists():
        try:
            write_private_file(path, secrets.token_urlsafe(64) + "\n")
        except FileExistsError:
            # Another process created it between the check and the open.
            pass
    return read_secret_key_file(path)


def parse_database_url(url: str, default_sqlite_path: Path) -> dict:
    """Turn ``DATABASE_URL`` into a Django DATABASES entry.

    Accepts ``sqlite:///absolute/path``, ``sqlite:///relative`` and
    ``postgres://user:password@host:port/name`` (``postgresql://`` too).
    """
    if not url:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": default_sqlite_path}

    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        name = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
        if not name:
            raise ImproperlyConfigured(
                "DATABASE_URL=sqlite:// has no file path. Example: sqlite:////srv/dango/db.sqlite3"
            )
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": name}
    if parts.scheme in {"postgres", "postgresql"}:
        if not parts.path.strip("/"):
            raise ImproperlyConfigured(
                "DATABASE_URL has no database name. Example: postgres://dango@127.0.0.1:5432/dango"
            )
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    raise ImproperlyConfigured(
        f"DATABASE_URL has the unsupported scheme {parts.scheme!r}. "
        "Use sqlite:///path or postgres://user@host:port/name."
    )
