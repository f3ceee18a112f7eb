"""Track signed-in sessions per user and end them on request.

Every Django sign-in creates a ``UserSession`` row; ending one deletes the
session from the configured session store (database or cache), so the
browser holding the cookie is anonymous on its next request.
"""

import logging
import time
from importlib import import_module

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver
from django.utils import timezone

from accounts import signals
from accounts.models import UserSession

logger = logging.getLogger("accounts")

USER_AGENT_MAX_LENGTH = 512

# Session keys holding epoch seconds for the timeout middleware.
AUTHENTICATED_AT_KEY = "dango_authenticated_at"
LAST_ACTIVITY_KEY = "dango_last_activity"
# Session key holding the id of the session's UserSession row.
USER_SESSION_ID_KEY = "dango_user_session_id"


def reset_session_clock(request) -> None:
    """Start the idle and absolute clocks of the request's session."""
    now = int(time.time())
    request.session[AUTHENTICATED_AT_KEY] = now
    request.session[LAST_ACTIVITY_KEY] = now


def _session_store_class():
    return import_module(settings.SESSION_ENGINE).SessionStore


def _client_ip(request):
    from hardening.client_ip import get_client_ip

    return get_client_ip(request)


@receiver(user_logged_in, dispatch_uid="accounts.record_session")
def record_session(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    reset_session_clock(request)
    if request.session.session_key is None:
        request.session.save()
    user_session, _ = UserSession.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={
            "user": user,
            "ip_address": _client_ip(request),
            "user_agent": request.headers.get("User-Agent", "")[:USER_AGENT_MAX_LENGTH],
            "created_at": timezone.now(),
            "last_seen_at": timezone.now(),
            "ended_at": None,
            "end_reason": "",
        },
    )
    request.session[USER_SESSION_ID_KEY] = user_session.pk


def current_user_session(request) -> UserSession | None:
    """Return the active row of the request's session, following any change of key.

    Django gives a session a new key (``cycle_key``) on sign-in and on password
    change, and the admin's password view does it after our receivers ran. The
    row id stored in the session finds the row again, and the row takes the
    new key, so "this session" is never mistaken for another one.
    """
    session = getattr(request, "session", None)
    user = getattr(request, "user", None)
    if session is None or user is None or not user.is_authenticated:
        return None
    row_id = session.get(USER_SESSION_ID_KEY)
    if row_id is None:
        return UserSession.objects.filter(session_key=session.session_key or "", user=user, ended_at=None).first()
    user_session = UserSession.objects.filter(pk=row_id, user=user, ended_at=None).first()
    if user_session is not None and session.session_key and user_session.session_key != session.session_key:
        user_session.session_key = session.session_key
        user_session.save(update_fields=["session_key"])
    return user_session


@receiver(user_logged_out, dispatch_uid="accounts.close_session_on_logout")
def close_session_on_logout(sender, request, user, **kwargs):
    if request is None or not getattr(request, "session", None) or not request.session.session_key:
        return
    UserSession.objects.filter(session_key=request.session.session_key, ended_at=None).update(
        ended_at=timezone.now(), end_reason="logout"
    )


def touch_session(session_key: str) -> None:
    UserSession.objects.filter(session_key=session_key, ended_at=None).update(last_seen_at=timezone.now())


def mark_session_ended(session_key: str, reason: str) -> None:
    UserSession.objects.filter(session_key=session_key, ended_at=None).update(
        ended_at=timezone.now(), end_reason=reason
    )


def end_session(user_session: UserSession, reason: str, request=None) -> None:
    """Delete the session from the store and announce it as revoked."""
    _session_store_class()(session_key=user_session.session_key).delete()
    user_session.ended_at = timezone.now()
    user_session.end_reason = reason
    user_session.save(update_fields=["ended_at", "end_reason"])
    logger.info("Ended session %s of user %s (%s)", user_session.pk, user_session.user_id, reason)
    signals.session_revoked.send(
        sender=UserSession, user=user_session.user, session=user_session, request=request, reason=reason
    )


def active_sessions(user):
    return UserSession.objects.filter(user=user, ended_at=None)


def end_other_sessions(user, keep_session_key: str | None, reason: str, request=None) -> int:
    ended = 0
    for user_session in active_sessions(user).exclude(session_key=keep_session_key or ""):
        end_session(user_session, reason, request=request)
        ended += 1
    return ended
