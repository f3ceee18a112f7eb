"""Settings of API keys, each with its default.

DANGO_API_KEY_DEFAULT_EXPIRY_DAYS  lifetime of a new key when the creator names none; 0 means no expiry (default 90)
DANGO_API_KEY_MAX_EXPIRY_DAYS      longest lifetime a key may get; 0 means no maximum, so keys may never expire
                                   (default 365)
DANGO_API_KEY_RATE_LIMIT           requests one key may make per window (default 300)
DANGO_API_KEY_RATE_WINDOW          length of that window in seconds (default 60)
DANGO_API_KEY_MAX_PER_USER         active keys one user may hold at once (default 20)
DANGO_API_KEY_ROTATION_GRACE_HOURS how long a rotated key keeps working next to its successor (default 24)

``accounts.apikeys.checks`` rejects combinations that contradict each other.
"""

from django.conf import settings


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def default_expiry_days() -> int:
    return _setting("DANGO_API_KEY_DEFAULT_EXPIRY_DAYS", 90)


def max_expiry_days() -> int:
    return _setting("DANGO_API_KEY_MAX_EXPIRY_DAYS", 365)


def rate_limit() -> int:
    return _setting("DANGO_API_KEY_RATE_LIMIT", 300)


def rate_window() -> int:
    return _setting("DANGO_API_KEY_RATE_WINDOW", 60)


def max_keys_per_user() -> int:
    return _setting("DANGO_API_KEY_MAX_PER_USER", 20)


def rotation_grace_hours() -> int:
    return _setting("DANGO_API_KEY_ROTATION_GRACE_HOURS", 24)
