"""Recent password confirmation before creating an API key.

A signed-in user re-enters their password; the session then counts as
confirmed for ``CONFIRMATION_LIFETIME`` seconds. Attempts are rate-limited
per user, so a stolen session cannot be used to guess the password.

NOTE: this is a minimal stand-in for a project-wide "sudo mode". It accepts
the password only, so a user without a usable password (Google or GitHub
sign-in only) cannot confirm and cannot create keys. Callers use only
``recent_password_required``, ``is_recently_confirmed`` and
``check_password_confirmation``, so a shared implementation can replace this
module without changing them.
"""

import time
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse

from accounts.ratelimit import RateLimit, RateLimitResult, hit

CONFIRMED_AT_KEY = "dango_api_key_password_confirmed_at"
CONFIRMATION_LIFETIME = 5 * 60  # seconds
CONFIRMATION_RATE = RateLimit("password_confirmation", limit=10, window=5 * 60)


@dataclass(frozen=True)
class ConfirmationResult:
    confirmed: bool
    message: str = ""
    rate_limit: RateLimitResult | None = None  # set when the attempt was refused by the rate limit


def is_recently_confirmed(request) -> bool:
    """Return whether the session's user re-entered their password in the last few minutes."""
    session = getattr(request, "session", None)
    if session is None:
        return False
    confirmed_at = session.get(CONFIRMED_AT_KEY)
    return isinstance(confirmed_at, int) and 0 <= time.time() - confirmed_at < CONFIRMATION_LIFETIME


def check_password_confirmation(request, user, password) -> ConfirmationResult:
    """Check ``password`` against ``user``'s, counting the attempt against the rate limit.

    A correct password marks the session (if the request has one) as recently
    confirmed.
    """
    limit = hit(CONFIRMATION_RATE, f"user:{user.pk}")
    if not limit.allowed:
        return ConfirmationResult(
            False, f"Too many password attempts. Try again in {limit.retry_after} seconds.", rate_limit=limit
        )
    if not user.has_usable_password():
        return ConfirmationResult(
            False, "Your account has no password to confirm. Set a password on the password change page first."
        )
    if not isinstance(password, str) or not password or not user.check_password(password):
        return ConfirmationResult(False, "The password is not correct.")
    session = getattr(request, "session", None)
    if session is not None and not getattr(request.user, "api_key", None):
        session[CONFIRMED_AT_KEY] = int(time.time())
    return ConfirmationResult(True)


def recent_password_required(view):
    """Send a user who has not confirmed their password recently to the confirmation page first."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if is_recently_confirmed(request):
            return view(request, *args, **kwargs)
        query = urlencode({"next": request.get_full_path()})
        return redirect(f"{reverse('api_key_confirm_password')}?{query}")

    return wrapper
