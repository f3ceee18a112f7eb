"""The rate limits that guard sign-in and password reset, read from settings.

Each limit is a count per fixed window (see ``accounts.ratelimit``). The
settings and their defaults:

DANGO_SIGN_IN_IP_LIMIT              sign-in attempts per client IP, across all emails (30)
DANGO_SIGN_IN_IP_WINDOW             its window in seconds (300)
DANGO_PASSWORD_RESET_EMAIL_LIMIT    password-reset requests per email (3)
DANGO_PASSWORD_RESET_EMAIL_WINDOW   its window in seconds (3600)
DANGO_PASSWORD_RESET_IP_LIMIT       password-reset requests per client IP (10)
DANGO_PASSWORD_RESET_IP_WINDOW      its window in seconds (3600)
"""

from django.conf import settings

from accounts.ratelimit import RateLimit

DEFAULTS = {
    "DANGO_SIGN_IN_IP_LIMIT": 30,
    "DANGO_SIGN_IN_IP_WINDOW": 300,
    "DANGO_PASSWORD_RESET_EMAIL_LIMIT": 3,
    "DANGO_PASSWORD_RESET_EMAIL_WINDOW": 3600,
    "DANGO_PASSWORD_RESET_IP_LIMIT": 10,
    "DANGO_PASSWORD_RESET_IP_WINDOW": 3600,
}


def _setting(name: str) -> int:
    return int(getattr(settings, name, DEFAULTS[name]))


def sign_in_per_ip() -> RateLimit:
    return RateLimit("sign_in_ip", _setting("DANGO_SIGN_IN_IP_LIMIT"), _setting("DANGO_SIGN_IN_IP_WINDOW"))


def password_reset_per_email() -> RateLimit:
    return RateLimit(
        "password_reset_email",
        _setting("DANGO_PASSWORD_RESET_EMAIL_LIMIT"),
        _setting("DANGO_PASSWORD_RESET_EMAIL_WINDOW"),
    )


def password_reset_per_ip() -> RateLimit:
    return RateLimit(
        "password_reset_ip", _setting("DANGO_PASSWORD_RESET_IP_LIMIT"), _setting("DANGO_PASSWORD_RESET_IP_WINDOW")
    )
