"""The base class of every API endpoint: authentication, CSRF, rate limit, permissions, JSON.

A request is handled in these steps, and the first failing step sets the response:

1. credentials: an ``Authorization`` header (API key) or the session cookie,
   never both (400). Missing or rejected credentials get 401, and so does
   a session whose user has two-factor authentication but has not passed it;
2. the per-key rate limit (429 with Retry-After);
3. the method (405 with Allow);
4. the body of an unsafe request: JSON only (413, 415);
5. CSRF, for session requests with an unsafe method only (403), because a
   browser attaches the cookie by itself but never an Authorization header;
6. the permissions the handler requires (403);
7. the handler, whose ApiError, Http404 or PermissionDenied become JSON.

Subclasses define ``get``/``post``/``put``/``delete``/``patch`` taking
``(request, **url_kwargs)`` and returning a dict (200) or ``(status, dict)``;
``requires(...)`` on a handler names the permissions it needs.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt

from accounts.api.errors import ApiError, error_response
from accounts.api.parsing import parse_json_object, read_body
from accounts.apikeys import app_settings as key_settings
from accounts.apikeys.authentication import ApiKeyRejected, RejectionReason, authenticate_bearer
from accounts.apikeys.permissions import role_permissions
from accounts.ratelimit import RateLimit, hit, too_many_requests
from accounts.twofactor.devices import is_enrolled
from accounts.twofactor.policy import is_verified
from rbac.decorators import has_permission
from rbac.permissions import get_permission
from rbac.signals import permission_denied

logger = logging.getLogger("accounts")

HANDLER_METHODS = ("get", "post", "put", "patch", "delete")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

REJECTION_CODES = {
    RejectionReason.MALFORMED: "invalid_api_key",
    RejectionReason.UNKNOWN: "invalid_api_key",
    RejectionReason.EXPIRED: "api_key_expired",
    RejectionReason.REVOKED: "api_key_revoked",
    RejectionReason.INACTIVE_USER: "account_inactive",
}


def requires(*names: str):
    """Mark an API handler as needing every permission in ``names`` (checked at import)."""
    for name in names:
        get_permission(name)

    def decorator(handler):
        handler.required_permissions = names
        return handler

    return decorator


def api_key_rate() -> RateLimit:
    return RateLimit("api_key", key_settings.rate_limit(), key_settings.rate_window())


@dataclass(frozen=True)
class Caller:
    """The user behind an API request and the key used; ``key`` is None for a session request."""

    user: object
    key: object | None

    @property
    def method(self) -> str:
        return "api_key" if self.key is not None else "session"


class _CsrfCheck(CsrfViewMiddleware):
    """Django's CSRF checks, returning the failure reason instead of an HTML page."""

    def _reject(self, request, reason):
        return reason


def csrf_failure_reason(request) -> str | None:
    check = _CsrfCheck(lambda request: None)
    check.process_request(request)
    return check.process_view(request, None, (), {})


class ApiView:
    @classmethod
    def as_view(cls):
        view_instance = cls()

        def view(request, *args, **kwargs):
            return view_instance.dispatch(request, *args, **kwargs)

        view.view_class = cls
        # CSRF is checked in dispatch, after it is known whether the request
        # came with a session (checked) or an API key (nothing to forge).
        return csrf_exempt(view)

    def allowed_methods(self) -> list[str]:
        methods = [name.upper() for name in HANDLER_METHODS if hasattr(self, name)]
        if "GET" in methods:
            methods.append("HEAD")
        return methods

    def dispatch(self, request, *args, **kwargs):
        try:
            response = self.handle(request, *args, **kwargs)
        except ApiError as error:
            response = error_response(error.status, error.code, error.message, error.headers)
        response.setdefault("Cache-Control", "no-store")
        return response

    def handle(self, request, *args, **kwargs):
        caller = self.authenticate(request)
        request.api_key = caller.key

        if caller.key is not None:
            limited = self.apply_rate_limit(request, caller.key)
            if limited is not None:
                return limited

        method = "get" if request.method == "HEAD" else request.method.lower()
        handler = getattr(self, method, None) if method in HANDLER_METHODS else None
        if handler is None:
            allowed = self.allowed_methods()
            raise ApiError(405, "method_not_allowed",
                           f"{request.method} is not allowed here. Allowed: {', '.join(allowed)}.",
                           headers={"Allow": ", ".join(allowed)})

        body = read_body(request) if request.method in UNSAFE_METHODS else b""
        if caller.key is None and request.method in UNSAFE_METHODS:
            reason = csrf_failure_reason(request)
            if reason is not None:
                raise ApiError(403, "csrf_failed",
                               f"CSRF verification failed: {reason} A request signed in by the session cookie "
                               "must send the CSRF token in the X-CSRFToken header; scripts should use an API key.")

        self.check_permissions(request, caller, getattr(handler, "required_permissions", ()))
        request.json = parse_json_object(body)

        try:
            result = handler(request, *args, **kwargs)
        except Http404 as error:
            raise ApiError(404, "not_found", str(error) or "Not found.") from None
        except PermissionDenied as error:
            raise ApiError(403, "permission_denied", str(error) or "You are not allowed to do this.") from None
        return self.render(result)

    def authenticate(self, request) -> Caller:
        header = request.META.get("HTTP_AUTHORIZATION")
        if header is not None:
            if settings.SESSION_COOKIE_NAME in request.COOKIES:
                raise ApiError(400, "ambiguous_credentials",
                               "The request sends both an Authorization header and a session cookie. "
                               "Send only one: the API key for scripts, the session for the browser.")
            try:
                authentication = authenticate_bearer(request, header)
            except ApiKeyRejected as rejection:
                raise ApiError(401, REJECTION_CODES[rejection.reason], rejection.message,
                               headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
            return Caller(user=authentication.user, key=authentication.key)

        user = request.user
        # TwoFactorVerificationMiddleware already ends a session that skipped
        # the second factor of a user who has one. The check here keeps such a
        # session anonymous to the API where that middleware is not installed.
        if not user.is_authenticated or (not is_verified(user) and is_enrolled(user)):
            raise ApiError(401, "not_authenticated",
                           "Send an API key in the header Authorization: Bearer dango_ak_…, or sign in.",
                           headers={"WWW-Authenticate": "Bearer"})
        return Caller(user=user, key=None)

    @staticmethod
    def apply_rate_limit(request, key):
        rate = api_key_rate()
        try:
            result = hit(rate, f"key:{key.pk}")
        except Exception:  # noqa: BLE001 - cache clients (Redis) raise their own error classes.
            # Fail open, because the key is already authenticated and the
            # limit only spreads load. Monitoring must still reach
            # /api/health to learn that the cache is down.
            logger.exception("The API key rate limit could not be counted; the request of key %s is let through",
                             key.pk)
            return None
        if not result.allowed:
            return too_many_requests(request, rate, result, key_kind="api_key", json=True)
        return None

    def check_permissions(self, request, caller: Caller, names) -> None:
        missing = [name for name in names if not has_permission(caller.user, name)]
        if not missing:
            return
        permission_denied.send(sender=ApiView, request=request, user=caller.user, permission=", ".join(missing))
        missing_names = ", ".join(missing)
        if caller.key is not None and set(missing) <= role_permissions(caller.user):
            message = f"This API key's scopes do not include {missing_names}. Create a key with that scope."
        else:
            message = f"Your role does not include the permission {missing_names}."
        raise ApiError(403, "permission_denied", message)

    @staticmethod
    def render(result) -> HttpResponse:
        if isinstance(result, HttpResponse):
            return result
        status = 200
        if isinstance(result, tuple):
            status, result = result
        return JsonResponse(result, status=status)
