"""Two-factor enforcement on every request.

``TwoFactorVerificationMiddleware`` goes right after allauth's
AccountMiddleware. It ends a signed-in session that never passed the
second factor of a user who has one, before any later code uses it. The
sign-in stage never creates such a session; this catches the paths that
call Django's ``login()`` without it (the enrolment of 2FA elsewhere, code
that calls ``login()`` directly, ``force_login``).

``TwoFactorPolicyMiddleware`` goes after the password-change middleware: a
user whom the policy obliges to have 2FA and who has none is sent to the
enrolment page and can reach nothing else but sign-out, the password
change and static files.
"""

import logging

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts.models import UserSession
from accounts.sessions import end_session
from accounts.twofactor.devices import is_enrolled
from accounts.twofactor.policy import is_required_for, is_verified
from rbac.decorators import wants_json

logger = logging.getLogger("accounts")


class TwoFactorVerificationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not is_verified(user) and is_enrolled(user):
            self._end_unverified_session(request, user)
        return self.get_response(request)

    def _end_unverified_session(self, request, user) -> None:
        session_key = request.session.session_key
        logger.warning("Ended a session of user %s that was signed in without the second factor", user.pk)
        request.session.flush()
        request.user = AnonymousUser()
        user_session = UserSession.objects.filter(session_key=session_key or "", ended_at=None).first()
        if user_session is not None:
            end_session(user_session, reason="two_factor_required", request=request)


class TwoFactorPolicyMiddleware:
    ALLOWED_URL_NAMES = (
        "two_factor_enable",
        "reauthenticate",
        "account_logout",
        "account_change_password",
        # A user without a password (social sign-in) sets one to re-authenticate.
        "account_set_password",
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and is_required_for(user)
            and not is_verified(user)
            and not is_enrolled(user)
            and not self._is_allowed(request)
        ):
            if wants_json(request):
                return JsonResponse(
                    {"error": {"code": "two_factor_required",
                               "message": "Your role requires two-factor authentication. "
                                          "Set it up on the web page before using the site."}},
                    status=403,
                )
            return redirect("two_factor_enable")
        return self.get_response(request)

    def _is_allowed(self, request) -> bool:
        static_prefix = "/" + settings.STATIC_URL.lstrip("/")
        if request.path.startswith(static_prefix):
            return True
        return request.path in {reverse(name) for name in self.ALLOWED_URL_NAMES}
