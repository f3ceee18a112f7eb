"""Every path that sets a password ends here, so policy and side effects match.

Side effects of a change: the password's timestamp moves, a pending forced
change is cleared, every other session of the user is signed out, and
``accounts.signals.password_changed`` is sent once.
"""

import secrets
import string

from allauth.account import signals as allauth_signals
from django.contrib.auth import HASH_SESSION_KEY, update_session_auth_hash
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.dispatch import receiver
from django.utils import timezone

from accounts import signals
from accounts.sessions import current_user_session, end_other_sessions

ONE_TIME_PASSWORD_LENGTH = 20
MAX_GENERATION_ATTEMPTS = 10
_ONE_TIME_ALPHABET = string.ascii_letters + string.digits


def _random_password() -> str:
    return "".join(secrets.choice(_ONE_TIME_ALPHABET) for _ in range(ONE_TIME_PASSWORD_LENGTH))


def generate_one_time_password(user=None) -> str:
    """Return a random password that passes the password policy for ``user``.

    A random draw almost always passes; drawing again covers the rare one
    that does not (all digits, or close to the user's email).
    """
    for _ in range(MAX_GENERATION_ATTEMPTS):
        raw = _random_password()
        try:
            validate_password(raw, user)
        except ValidationError:
            continue
        return raw
    raise RuntimeError(
        f"No generated password passed the password policy in {MAX_GENERATION_ATTEMPTS} attempts; "
        "check AUTH_PASSWORD_VALIDATORS for a rule that 20 random letters and digits cannot meet."
    )


def apply_password_change(user, request=None, reason: str = "self", must_change: bool = False) -> None:
    """Record a password that has already been set on ``user`` and saved."""
    user.password_changed_at = timezone.now()
    user.must_change_password = must_change
    user.save(update_fields=["password_changed_at", "must_change_password"])
    keep = None
    if request is not None and getattr(request, "user", None) is not None and request.user.pk == user.pk:
        if request.session.get(HASH_SESSION_KEY) != user.get_session_auth_hash():
            # allauth has already done this for its own forms; doing it twice
            # would only give the session yet another key.
            update_session_auth_hash(request, user)
        current = current_user_session(request)
        keep = current.session_key if current else request.session.session_key
    end_other_sessions(user, keep_session_key=keep, reason="password_changed", request=request)
    signals.password_changed.send(sender=type(user), user=user, request=request, reason=reason)


def set_password(user, raw_password: str, request=None, reason: str = "admin", must_change: bool = False) -> None:
    """Validate ``raw_password`` against the policy, set it and apply the side effects.

    Raises django.core.exceptions.ValidationError listing every policy failure.
    """
    validate_password(raw_password, user)
    user.set_password(raw_password)
    user.save(update_fields=["password"])
    apply_password_change(user, request=request, reason=reason, must_change=must_change)


def reset_to_one_time_password(user, request=None, reason: str = "command") -> str:
    """Give ``user`` a generated password that must be changed at the next sign-in."""
    raw = generate_one_time_password(user)
    user.set_password(raw)
    user.save(update_fields=["password"])
    apply_password_change(user, request=request, reason=reason, must_change=True)
    return raw


@receiver(allauth_signals.password_changed, dispatch_uid="accounts.allauth_password_changed")
def on_allauth_password_changed(sender, request, user, **kwargs):
    apply_password_change(user, request=request, reason="self")


@receiver(allauth_signals.password_set, dispatch_uid="accounts.allauth_password_set")
def on_allauth_password_set(sender, request, user, **kwargs):
    apply_password_change(user, request=request, reason="self")


@receiver(allauth_signals.password_reset, dispatch_uid="accounts.allauth_password_reset")
def on_allauth_password_reset(sender, request, user, **kwargs):
    apply_password_change(user, request=request, reason="reset")
