"""Count wrong second-factor codes in django-axes, next to wrong passwords.

A wrong code is recorded through axes' handler directly rather than by
sending Django's ``user_login_failed``: that signal would also produce a
``login_failure`` audit record, and the code step has its own event,
``two_fa_failure``. The lockout is keyed like the password step, by the
email and the client IP, so four wrong passwords and one wrong code lock
the pair just as five wrong passwords do.
"""

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django.conf import settings
from django.http import HttpResponse


def lockout_credentials(email: str) -> dict:
    # The password step passes allauth's credentials, keyed "email" for
    # email login; the same key makes axes count both steps under one name.
    return {"email": email}


def is_locked_out(request, email: str) -> bool:
    if not settings.AXES_ENABLED:
        return False
    return not AxesProxyHandler.is_allowed(request, lockout_credentials(email))


def record_code_failure(request, email: str) -> bool:
    """Count one wrong code for (email, client IP); return True if the pair is now locked out."""
    if not settings.AXES_ENABLED:
        return False
    AxesProxyHandler.user_login_failed(sender=record_code_failure, credentials=lockout_credentials(email),
                                       request=request)
    return bool(getattr(request, "axes_locked_out", False))


def lockout_response(request, email: str) -> HttpResponse:
    """Build the same lockout page (or JSON) that a locked password sign-in gets."""
    return get_lockout_response(request, None, lockout_credentials(email))
