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


def get_oauth_app(provider: str, label: str) -> dict | None:
    """Return allauth's ``APP`` entry from DANGO_<PROVIDER>_CLIENT_ID and _CLIENT_SECRET.

    Returns None when neither variable is set, so the provider can be set up
    in the Django admin instead. Setting only one of the two is a mistake that
    would show a sign-in button which always fails, so it raises.
    """
    id_name = f"DANGO_{provider.upper()}_CLIENT_ID"
    secret_name = f"DANGO_{provider.upper()}_CLIENT_SECRET"
    client_id = os.environ.get(id_name, "").strip()
    secret = os.environ.get(secret_name, "").strip()
    if not client_id and not secret:
        return None
    if not client_id or not secret:
        present, missing = (id_name, secret_name) if client_id else (secret_name, id_name)
        raise ImproperlyConfigured(
            f"{present} is set but {missing} is not. Set both to turn on sign-in with {label}, "
            "or neither to configure it in the Django admin."
        )
    return {"client_id": client_id, "secret": secret}


LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def get_base_url(name: str, allow_http: bool = False) -> str | None:
    """Return the URL in ``name`` without a trailing slash, or None when unset.

    Unless ``allow_http`` is true, the URL must use https, except on a
    loopback host, where http is allowed for a local stand-in such as the test
    suite's fake OAuth provider.
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an http(s) URL. Example: https://github.example.com")
    if parts.scheme == "http" and not allow_http and parts.hostname not in LOOPBACK_HOSTS:
        raise ImproperlyConfigured(
            f"{name}={raw!r} uses http on a host other than 127.0.0.1 or localhost. Use https."
        )
    if parts.query or parts.fragment:
        raise ImproperlyConfigured(f"{name}={raw!r} must not contain a query or fragment.")
    return raw.rstrip("/")
