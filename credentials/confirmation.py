"""Recent re-confirmation of the user's password (and 2FA code) before revealing secrets.

A successful confirmation stores its time in the session; it counts for
CREDENTIALS_CONFIRMATION_MAX_AGE seconds. Users with a confirmed 2FA
device must also enter a current code. After
CREDENTIALS_CONFIRMATION_FAILURE_LIMIT wrong tries the form refuses
further tries for CREDENTIALS_CONFIRMATION_LOCKOUT seconds, counted per
user in the cache so that every worker reads the same count.

The module is self-contained so that a site-wide "sudo mode" can replace
it: views depend only on ``recent_confirmation_required`` and
``has_recent_confirmation``.

NOTE: users without a usable password (signed up through Google or GitHub)
cannot confirm, so they cannot reveal secrets until they set a password.
"""

import time
from functools import wraps
from urllib.parse import urlencode

from django.core.cache import cache
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.debug import sensitive_variables
from django_otp import devices_for_user, user_has_device

from credentials.conf import app_settings

SESSION_KEY = "credentials_confirmed_at"


class ConfirmationLocked(Exception):
    def __init__(self, seconds: int):
        self.seconds = seconds
        minutes = max(1, round(seconds / 60))
        super().__init__(f"Too many wrong confirmations. Try again in about {minutes} minute(s).")


def _failure_key(user) -> str:
    return f"credentials:confirmation-failures:{user.pk}"


def can_confirm(user) -> bool:
    return user.has_usable_password()


def requires_otp(user) -> bool:
    return user_has_device(user, confirmed=True)


def has_recent_confirmation(request) -> bool:
    confirmed_at = request.session.get(SESSION_KEY)
    if not isinstance(confirmed_at, (int, float)):
        return False
    age = time.time() - confirmed_at
    return 0 <= age < app_settings.CONFIRMATION_MAX_AGE


def _verify_otp(user, token: str) -> bool:
    token = token.strip().replace(" ", "")
    if not token:
        return False
    # Each device applies its own throttling in verify_token.
    with transaction.atomic():
        return any(device.verify_token(token) for device in devices_for_user(user, for_verify=True))


@sensitive_variables("password", "otp_token")
def confirm(request, password: str, otp_token: str = "") -> bool:
    """Check the password (and 2FA code); on success mark the session as recently confirmed.

    Raises ConfirmationLocked while too many failures are recorded.
    """
    user = request.user
    key = _failure_key(user)
    failures = cache.get(key, 0)
    if failures >= app_settings.CONFIRMATION_FAILURE_LIMIT:
        raise ConfirmationLocked(app_settings.CONFIRMATION_LOCKOUT)

    ok = user.check_password(password)
    if ok and requires_otp(user):
        ok = _verify_otp(user, otp_token)
    if not ok:
        if cache.add(key, 1, app_settings.CONFIRMATION_LOCKOUT):
            return False
        try:
            cache.incr(key)
        except ValueError:
            # The entry expired between add() and incr().
            cache.set(key, 1, app_settings.CONFIRMATION_LOCKOUT)
        return False

    cache.delete(key)
    request.session[SESSION_KEY] = int(time.time())
    return True


def recent_confirmation_required(view):
    """Send the user to the confirmation page unless they confirmed recently."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if has_recent_confirmation(request):
            return view(request, *args, **kwargs)
        # A POST cannot be replayed after the detour, so come back to the page
        # the form was on (a safe GET) and let the user repeat the action.
        target = request.get_full_path() if request.method == "GET" else reverse("credentials:index")
        return redirect(f"{reverse('credentials:confirm')}?{urlencode({'next': target})}")

    return wrapper
