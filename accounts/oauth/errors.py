"""The page shown when an OAuth exchange fails before an identity is known.

allauth reports these through the social adapter's ``on_authentication_error``.
They are a callback whose ``state`` is unknown to this session (a stale or
forged link), a provider that returned an error or could not be reached, and
a person who cancelled at the provider. No user is signed in or changed.
"""

import logging

from allauth.socialaccount.providers.base.constants import AuthError
from django.template.response import TemplateResponse
from requests import RequestException

logger = logging.getLogger("accounts")


def authentication_error_response(request, provider, error=None, exception=None, extra_context=None):
    name = provider.name
    extra_context = extra_context or {}
    if error == AuthError.CANCELLED:
        reason = "cancelled"
        heading = f"Sign-in with {name} was cancelled"
        message = f"You cancelled at {name}. Sign in again whenever you are ready."
        status = 200
    elif "state" not in extra_context:
        # allauth reached the error before finding the state it stored when
        # the sign-in started, so this callback was not started here.
        reason = "unknown_state"
        heading = "This sign-in link has expired"
        message = (
            f"The answer from {name} does not belong to a sign-in started in this browser, or it was already "
            "used. Start again from the sign-in page."
        )
        status = 400
    else:
        reason = "provider_error"
        heading = f"Sign-in with {name} failed"
        message = (
            f"Dango could not complete the sign-in with {name}: the provider returned an error or could not be "
            "reached. Try again; if it keeps failing, tell an Admin."
        )
        # 502 when the provider could not be reached. An error response from
        # it usually comes from the request (a wrong or reused code).
        status = 502 if isinstance(exception, RequestException) else 400
    logger.warning(
        "OAuth sign-in with %s failed: %s%s",
        name,
        reason,
        f" ({type(exception).__name__})" if exception is not None else "",
    )
    response = TemplateResponse(
        request, "accounts/oauth_error.html", {"heading": heading, "message": message, "reason": reason},
        status=status,
    )
    return response.render()
