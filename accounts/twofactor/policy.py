"""The two-factor policy: which users must have it, and whether a session meets it."""

from django.core.exceptions import ImproperlyConfigured

from accounts.twofactor.app_settings import app_settings
from accounts.twofactor.devices import is_enrolled
from rbac.assignment import is_admin


def is_required_for(user) -> bool:
    """Return whether the policy settings oblige ``user`` to have two-factor authentication."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if app_settings.REQUIRED_FOR_ALL:
        return True
    return app_settings.REQUIRED_FOR_ADMINS and is_admin(user)


def is_verified(user) -> bool:
    """Return whether the session of ``user`` passed a second factor (django-otp's is_verified)."""
    check = getattr(user, "is_verified", None)
    if check is None:
        raise ImproperlyConfigured(
            "request.user has no is_verified(). Add django_otp.middleware.OTPMiddleware to MIDDLEWARE "
            "after django.contrib.auth.middleware.AuthenticationMiddleware."
        )
    return bool(check())


def satisfies_policy(user) -> bool:
    """Return whether a signed-in ``user`` may use the site as far as two-factor goes.

    True when the session passed a second factor, or when the user has no
    two-factor authentication and the policy does not require it.
    """
    if not getattr(user, "is_authenticated", False):
        return False
    if is_verified(user):
        return True
    return not is_enrolled(user) and not is_required_for(user)
