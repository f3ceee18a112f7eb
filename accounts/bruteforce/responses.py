"""The response to a sign-in attempt rejected by the lockout or the per-IP limit.

This is the project's AXES_LOCKOUT_CALLABLE. The response depends only on the
time left, never on whether an account has the submitted email: the body
does not repeat the email, and status, headers and body are built the same
way for every identifier. No password is hashed on this path, for existing
and unknown emails alike.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse

from accounts import ratelimit
from accounts.bruteforce import gate
from accounts.bruteforce.handler import REJECTION_ATTRIBUTE, Rejection, get_pair

LOCKOUT_TEMPLATE = "account/lockout.html"


def format_wait(seconds: int) -> str:
    """Return a wait such as "1 second", "45 seconds" or "15 minutes" (minutes rounded up)."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def wants_json(request: HttpRequest) -> bool:
    return (
        request.headers.get("X-Requested-With") == "XMLHttpRequest"
        or "application/json" in request.headers.get("Accept", "")
        or request.content_type == "application/json"
    )


def _lockout_retry_after(request: HttpRequest, credentials: dict | None) -> int:
    rejection = getattr(request, REJECTION_ATTRIBUTE, None)
    if rejection is not None:
        return rejection.retry_after
    # The attempt that reached the limit, or a failure recorded by another
    # path (such as a second-factor step) on a locked pair.
    retry_after = gate.get_retry_after(*get_pair(request, credentials))
    return retry_after or int(gate.cool_off().total_seconds())


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """Build the 429 response with Retry-After for a rejected or locking sign-in attempt."""
    rejection: Rejection | None = getattr(request, REJECTION_ATTRIBUTE, None)
    if rejection is not None and rejection.reason == "rate_limited":
        response = ratelimit.too_many_requests(
            request, rejection.rate, rejection.rate_result, key_kind="ip", json=wants_json(request)
        )
    else:
        retry_after = _lockout_retry_after(request, credentials)
        message = (
            "Signing in with this email address from your network is paused after too many failed attempts. "
            f"Try again in {format_wait(retry_after)}."
        )
        if wants_json(request):
            response = JsonResponse(
                {"error": {"code": "locked_out", "message": message, "retry_after": retry_after}}, status=429
            )
        else:
            response = TemplateResponse(request, LOCKOUT_TEMPLATE, {"message": message}, status=429)
        response["Retry-After"] = str(retry_after)
    if isinstance(response, TemplateResponse):
        # Middleware returns this response after the view stage, where
        # Django would otherwise render a template response.
        response.render()
    return response
