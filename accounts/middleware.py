"""Session timeouts and the forced password change.

Idle and absolute limits are kept as epoch seconds in the session, because
the JSON session serializer cannot store datetimes and Django has no setting
for an absolute lifetime.

Background requests: a page that polls marks its requests with the header
``X-Dango-Background: 1``. Such requests are answered (and still expire the
session when a limit has passed) but never count as activity, so an open tab
that polls cannot keep an idle session alive.
"""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.contrib.messages.storage import default_storage
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts import signals
from accounts.sessions import (
    AUTHENTICATED_AT_KEY,
    LAST_ACTIVITY_KEY,
    current_user_session,
    mark_session_ended,
    touch_session,
)

BACKGROUND_HEADER = "X-Dango-Background"


def is_background_request(request) -> bool:
    return request.headers.get(BACKGROUND_HEADER, "").strip() == "1"


def _expects_json(request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


class SessionTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            expired = self._check(request)
            if expired:
                return expired
        return self.get_response(request)

    def _check(self, request):
        session = request.session
        now = int(time.time())
        idle_limit = settings.DANGO_SESSION_IDLE_TIMEOUT
        absolute_limit = settings.DANGO_SESSION_ABSOLUTE_TIMEOUT
        authenticated_at = session.get(AUTHENTICATED_AT_KEY)
        last_activity = session.get(LAST_ACTIVITY_KEY)

        if authenticated_at is None or last_activity is None:
            session[AUTHENTICATED_AT_KEY] = authenticated_at or now
            session[LAST_ACTIVITY_KEY] = last_activity or now
            return None

        reason = None
        if absolute_limit and now - authenticated_at >= absolute_limit:
            reason = "absolute"
        elif idle_limit and now - last_activity >= idle_limit:
            reason = "idle"
        if reason:
            return self._expire(request, reason)

        touch_interval = settings.DANGO_SESSION_TOUCH_INTERVAL
        if not is_background_request(request) and now - last_activity >= touch_interval:
            # Recording activity at most once per interval keeps a busy page
            # from writing the session on every request. The idle timeout can
            # therefore end a session up to one interval early.
            session[LAST_ACTIVITY_KEY] = now
            current = current_user_session(request)
            if current is not None:
                touch_session(current.session_key)
        return None

    def _expire(self, request, reason: str):
        user = request.user
        current = current_user_session(request)
        if current is not None:
            mark_session_ended(current.session_key, reason)
        # Django's logout() would also send user_logged_out, recording a
        # sign-out the user never made; an expiry is announced only as such.
        request.session.flush()
        request.user = AnonymousUser()
        signals.session_expired.send(sender=SessionTimeoutMiddleware, user=user, request=request, reason=reason)
        if _expects_json(request):
            return JsonResponse(
                {"error": {"code": "session_expired", "message": "Your session expired. Sign in again."}},
                status=401,
            )
        response = redirect_to_login(request.get_full_path())
        self._add_expiry_message(request, response)
        return response

    @staticmethod
    def _add_expiry_message(request, response) -> None:
        storage = getattr(request, "_messages", None)
        if storage is not None:
            messages.info(request, "Your session expired. Sign in again to continue.")
            return
        # MessageMiddleware comes after this middleware, so it has neither
        # attached its storage yet nor will it see this early response.
        storage = request._messages = default_storage(request)
        messages.info(request, "Your session expired. Sign in again to continue.")
        storage.update(response)


class PasswordChangeRequiredMiddleware:
    """Send users with a one-time password to the password change page.

    Every request except the password change and set pages, sign-out and
    static files gets a redirect (or 403 JSON for API requests) until a new
    password is set.
    """

    # allauth sends a user without a usable password from the change page to
    # the set page, so both must stay open or the two redirect to each other.
    ALLOWED_URL_NAMES = ("account_change_password", "account_set_password", "account_logout")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and getattr(user, "must_change_password", False):
            allowed = {reverse(name) for name in self.ALLOWED_URL_NAMES}
            static_prefix = "/" + settings.STATIC_URL.lstrip("/")
            if request.path not in allowed and not request.path.startswith(static_prefix):
                if _expects_json(request):
                    return JsonResponse(
                        {"error": {"code": "password_change_required",
                                   "message": "Choose a new password on the web page before using the site."}},
                        status=403,
                    )
                return redirect("account_change_password")
        return self.get_response(request)
