"""Recent re-authentication ("sudo mode") in front of sensitive actions.

Protect a view with the decorator or the mixin::

    from accounts.reauth import ReauthenticationRequiredMixin, reauthentication_required

    @reauthentication_required
    def create_api_key(request): ...

    @reauthentication_required(max_age=300)
    def reveal_secret(request, name): ...

    class RevealSecretView(ReauthenticationRequiredMixin, View):
        reauthentication_max_age = 300  # optional, seconds

A signed-in user passes when they confirmed who they are on the
re-authentication page (``reauthenticate``) within the last
``DANGO_REAUTH_TIMEOUT`` seconds (default 600, ten minutes). Confirming asks
for the password and, when the user has two-factor authentication, a TOTP
or recovery code. Signing in does not start the window: the first sensitive
action after sign-in asks again.

Otherwise the view does not run, and the request gets:

- anonymous: the sign-in page, or 401 JSON;
- a GET page: a redirect to the re-authentication page, which returns to the
  page afterwards;
- a POST (or other method) page: the same redirect, returning to the
  referring page on this site, because a POST cannot be replayed; a message
  asks the user to submit again;
- JSON (a path under /api/, or Accept: application/json): 403
  ``{"error": {"code": "reauthentication_required", "message": ..., "reauthenticate_url": ...}}``.

A view that must ask every time, whatever the window (turning off two-factor
authentication), puts ``ReauthenticationForm`` in its own form instead; a
valid form also starts the window. Wrong passwords and wrong codes count
toward the sign-in lockout like at sign-in.
"""

import logging
import time
from functools import wraps
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache

from accounts import ratelimit
from accounts.twofactor.devices import is_enrolled
from accounts.twofactor.verification import LOCKED_OUT, REPLAYED, THROTTLED, classify_code, verify_code
from rbac.decorators import wants_json

logger = logging.getLogger("accounts")

REAUTHENTICATED_AT_KEY = "dango_reauthenticated_at"
DEFAULT_MAX_AGE = 10 * 60
REAUTH_RATE = ratelimit.RateLimit(name="reauthenticate", limit=10, window=5 * 60)


def get_max_age() -> int:
    return int(getattr(settings, "DANGO_REAUTH_TIMEOUT", DEFAULT_MAX_AGE))


def is_recently_reauthenticated(request, max_age: int | None = None) -> bool:
    """Return whether the session's user confirmed who they are within ``max_age`` seconds."""
    if not request.user.is_authenticated or not hasattr(request, "session"):
        return False
    confirmed_at = request.session.get(REAUTHENTICATED_AT_KEY)
    if not isinstance(confirmed_at, int):
        return False
    age = int(time.time()) - confirmed_at
    return 0 <= age < (get_max_age() if max_age is None else max_age)


def mark_reauthenticated(request) -> None:
    """Start the re-authentication window of the current session now."""
    request.session[REAUTHENTICATED_AT_KEY] = int(time.time())


def reauthenticate_url(next_url: str | None = None) -> str:
    url = reverse("reauthenticate")
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _return_url(request) -> str:
    if request.method in ("GET", "HEAD"):
        return request.get_full_path()
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return reverse(settings.LOGIN_REDIRECT_URL)


def check_reauthentication(request, max_age: int | None = None) -> HttpResponse | None:
    """Return None when the request may go on, else the response that requests re-authentication."""
    if not request.user.is_authenticated:
        if wants_json(request):
            return JsonResponse(
                {"error": {"code": "not_authenticated", "message": "Sign in to continue."}}, status=401
            )
        return redirect_to_login(request.get_full_path())
    if is_recently_reauthenticated(request, max_age):
        return None

    return_url = _return_url(request)
    if wants_json(request):
        return JsonResponse(
            {
                "error": {
                    "code": "reauthentication_required",
                    "message": "Confirm your password (and code) on the web page, then send the request again.",
                    "reauthenticate_url": reauthenticate_url(return_url),
                }
            },
            status=403,
        )
    if request.method not in ("GET", "HEAD"):
        messages.info(request, "Confirm your identity, then submit the form again.")
    return redirect(reauthenticate_url(return_url))


def reauthentication_required(view_func=None, *, max_age: int | None = None):
    """Run the view only for a user who re-authenticated recently (see the module docstring)."""

    def decorator(func):
        @wraps(func)
        def wrapper(request, *args, **kwargs):
            refusal = check_reauthentication(request, max_age)
            if refusal is not None:
                return refusal
            return func(request, *args, **kwargs)

        return wrapper

    return decorator(view_func) if view_func is not None else decorator


class ReauthenticationRequiredMixin:
    """Class-based twin of ``reauthentication_required``; put it first among the bases."""

    reauthentication_max_age: int | None = None

    def dispatch(self, request, *args, **kwargs):
        refusal = check_reauthentication(request, self.reauthentication_max_age)
        if refusal is not None:
            return refusal
        return super().dispatch(request, *args, **kwargs)


FAILURE_MESSAGES = {
    REPLAYED: "That code was already used. Wait for the next code in your app.",
    THROTTLED: "Too many wrong codes in a row. Wait a few seconds, then enter the current code.",
    LOCKED_OUT: "Too many failed attempts from this address. Wait, then try again.",
}
WRONG_CODE_MESSAGE = "That code is not valid. Enter the current code from your app, or an unused recovery code."
CODE_FORMAT_MESSAGE = "Enter the 6-digit code from your authenticator app, or a recovery code like 1a2b-3c4d-5e6f."


class ReauthenticationForm(forms.Form):
    """The password of the signed-in user and, when they have two-factor authentication, a code.

    Fields that do not apply are removed: ``password`` for a user without a
    usable password (signed up through Google or GitHub), ``code`` for a
    user without two-factor authentication. ``verification`` is the code
    check's result after a successful ``is_valid()``.
    """

    password = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput(
        attrs={"autocomplete": "current-password"}))
    code = forms.CharField(label="Authentication code", max_length=64, widget=forms.TextInput(
        attrs={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"}))

    def __init__(self, request, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.user = request.user
        self.verification = None
        self.asks_password = self.user.has_usable_password()
        self.asks_code = is_enrolled(self.user)
        if not self.asks_password:
            del self.fields["password"]
        if not self.asks_code:
            del self.fields["code"]

    def clean_code(self):
        code = self.cleaned_data["code"]
        if classify_code(code) is None:
            raise ValidationError(CODE_FORMAT_MESSAGE, code="invalid_format")
        return code

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if not self.asks_password and not self.asks_code:
            raise ValidationError(
                "Your account has neither a password nor two-factor authentication to confirm with. "
                "Set a password first.",
                code="nothing_to_confirm",
            )
        if self.asks_password:
            # authenticate() goes through axes: a wrong password counts
            # toward the lockout and is audited like one at sign-in.
            authenticated = authenticate(self.request, email=self.user.email, password=cleaned["password"])
            if authenticated is None or authenticated.pk != self.user.pk:
                if getattr(self.request, "axes_locked_out", False):
                    raise ValidationError(FAILURE_MESSAGES[LOCKED_OUT], code="locked_out")
                raise ValidationError("The password is not correct.", code="wrong_password")
        if self.asks_code:
            result = verify_code(self.request, self.user, cleaned["code"])
            if not result.accepted:
                self.add_error("code", ValidationError(
                    FAILURE_MESSAGES.get(result.failure, WRONG_CODE_MESSAGE), code=result.failure))
                return cleaned
            self.verification = result
        return cleaned


@never_cache
@login_required
def reauthenticate(request):
    """Ask for the password (and a code) and start the re-authentication window."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = reverse("account")

    if request.method == "POST":
        result = ratelimit.hit(REAUTH_RATE, f"user:{request.user.pk}")
        if not result.allowed:
            return ratelimit.too_many_requests(request, REAUTH_RATE, result, key_kind="user")
        form = ReauthenticationForm(request, data=request.POST)
        if form.is_valid():
            mark_reauthenticated(request)
            logger.info("User %s re-authenticated", request.user.pk)
            return redirect(next_url)
    else:
        form = ReauthenticationForm(request)
    return render(request, "accounts/reauthenticate.html", {
        "form": form,
        "next": next_url,
        "minutes": max(1, get_max_age() // 60),
    })
