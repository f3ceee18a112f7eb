"""Recent re-authentication ("sudo mode") for API endpoints.

A session request passes while its session is in the re-authentication
window of ``accounts.reauth``. Any request may instead send its credentials
in the body: ``password`` and, for a user with two-factor authentication,
``code`` (a TOTP code or an unused recovery code). A key-authenticated
request has no session, so it always sends them.

Body credentials go through the re-authentication page's form and rate
limit, so wrong passwords and codes count toward the sign-in lockout and
are audited the same way. Credentials that are sent are always checked,
even when the session would not need them. On a session request, correct
credentials start the window like the page does.
"""

import logging

from django.http import HttpResponse

from accounts import ratelimit
from accounts.api.errors import ApiError
from accounts.reauth import REAUTH_RATE, ReauthenticationForm, check_reauthentication, mark_reauthenticated

logger = logging.getLogger("accounts")

CREDENTIAL_FIELDS = frozenset({"password", "code"})

# Validation error codes of ReauthenticationForm -> (HTTP status, API error code).
FAILURES = {
    "wrong_password": (403, "password_incorrect"),
    "locked_out": (429, "locked_out"),
    "nothing_to_confirm": (403, "reauthentication_unavailable"),
    "invalid_format": (400, "invalid_code"),
    "wrong_code": (403, "code_incorrect"),
    "replayed": (403, "code_incorrect"),
    "throttled": (403, "code_throttled"),
}


def require_reauthentication(request, data: dict, action: str) -> HttpResponse | None:
    """Return None when the request may go on, else the response that rejects it.

    ``data`` is the parsed JSON body; only its ``password`` and ``code``
    fields are read. ``action`` starts the error messages, for example
    "Creating an API key".
    """
    sent = {name: data[name] for name in CREDENTIAL_FIELDS if name in data}
    if not sent:
        if request.api_key is None:
            return check_reauthentication(request)
        _raise_missing(ReauthenticationForm(request), action)

    for name, value in sent.items():
        if not isinstance(value, str):
            raise ApiError(400, f"invalid_{name}", f"The field \"{name}\" must be a string.")

    form = ReauthenticationForm(request, data=sent)
    # Checked before the rate limit, because a request with a missing or
    # empty field tests no password or code.
    _raise_missing(form, action, sent)

    limited = ratelimit.hit(REAUTH_RATE, f"user:{request.user.pk}")
    if not limited.allowed:
        return ratelimit.too_many_requests(request, REAUTH_RATE, limited, key_kind="user", json=True)
    if not form.is_valid():
        raise _failure(form)

    if request.api_key is None:
        mark_reauthenticated(request)
    logger.info("User %s re-authenticated in an API request", request.user.pk)
    return None


def _raise_missing(form: ReauthenticationForm, action: str, sent: dict | None = None) -> None:
    sent = sent or {}
    if form.asks_password and not sent.get("password"):
        raise ApiError(403, "password_required",
                       f"{action} needs your current password in the field \"password\""
                       + (" and a current code in the field \"code\"." if form.asks_code else "."))
    if form.asks_code and not sent.get("code"):
        raise ApiError(403, "code_required",
                       f"{action} needs the current code from your authenticator app, or an unused "
                       "recovery code, in the field \"code\".")


def _failure(form: ReauthenticationForm) -> ApiError:
    for errors in form.errors.as_data().values():
        for error in errors:
            if error.code in FAILURES:
                status, code = FAILURES[error.code]
                return ApiError(status, code, " ".join(error.messages))
    messages = " ".join(message for messages in form.errors.values() for message in messages)
    return ApiError(403, "reauthentication_failed", messages or "The re-authentication failed.")
