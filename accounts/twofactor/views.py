import logging
import time

import django_otp
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, login_required
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache

from accounts import ratelimit
from accounts.reauth import (
    FAILURE_MESSAGES,
    REAUTH_RATE,
    WRONG_CODE_MESSAGE,
    ReauthenticationForm,
    mark_reauthenticated,
    reauthentication_required,
)
from accounts.sessions import end_other_sessions
from accounts.twofactor import devices, totp
from accounts.twofactor.app_settings import app_settings
from accounts.twofactor.forms import EnrolmentCodeForm, SignInCodeForm
from accounts.twofactor.lockout import lockout_response
from accounts.twofactor.policy import is_required_for
from accounts.twofactor.stage import PendingSignIn
from accounts.twofactor.verification import THROTTLED, verify_code

logger = logging.getLogger("accounts")

# Submissions per pending sign-in. The failure count in the session can
# lag behind simultaneous requests, so this atomic counter caps such a burst.
CODE_RATE = ratelimit.RateLimit(name="two_fa_code", limit=10, window=5 * 60)
ENROLMENT_RATE = ratelimit.RateLimit(name="two_fa_enrolment", limit=10, window=5 * 60)

# The secret of an enrolment that is not confirmed yet: {"key": hex, "created_at": epoch seconds}.
ENROLMENT_SESSION_KEY = "dango_2fa_enrolment"


def _restart_sign_in(request, pending: PendingSignIn, message: str):
    pending.cancel()
    messages.error(request, message)
    return redirect(settings.LOGIN_URL)


@never_cache
@login_not_required
def challenge(request):
    """Check the code step of sign-in, after an accepted password or OAuth sign-in."""
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    pending = PendingSignIn.from_request(request)
    if pending is None:
        messages.info(request, "Sign in with your email and password first.")
        return redirect(settings.LOGIN_URL)
    if pending.is_expired():
        minutes = app_settings.PENDING_TIMEOUT // 60
        return _restart_sign_in(request, pending, f"The sign-in timed out after {minutes} minutes. Sign in again.")
    if not pending.user.is_active:
        return _restart_sign_in(request, pending, "This account is deactivated. Ask an Admin to reactivate it.")
    if not devices.is_enrolled(pending.user):
        # An Admin reset this user's 2FA after the password step.
        return _restart_sign_in(request, pending, "Your two-factor authentication was reset. Sign in again.")
    if request.method == "POST" and "cancel" in request.POST:
        pending.cancel()
        return redirect(settings.LOGIN_URL)

    form = SignInCodeForm(request.POST or None)
    if request.method == "POST":
        limited = ratelimit.hit(CODE_RATE, f"pending:{pending.id}")
        if not limited.allowed:
            pending.cancel()
            return ratelimit.too_many_requests(request, CODE_RATE, limited, key_kind="pending_sign_in")
        if form.is_valid():
            result = verify_code(request, pending.user, form.cleaned_data["code"], lockout_email=pending.email)
            if result.accepted:
                logger.info("User %s passed the second factor (%s)", pending.user.pk, result.method)
                return pending.complete(result.device)
            if result.locked_out:
                # When this failure caused the lockout, AxesMiddleware swaps
                # in the same lockout page on the way out.
                pending.cancel()
                return lockout_response(request, pending.email)
            if result.failure == THROTTLED:
                wait = f"{result.retry_after} seconds" if result.retry_after else "a few seconds"
                form.add_error("code", f"Too many wrong codes in a row. Wait {wait}, then enter the current code.")
            else:
                failures = pending.record_failure()
                left = app_settings.MAX_FAILURES - failures
                if left <= 0:
                    return _restart_sign_in(
                        request, pending, f"{failures} wrong codes. Sign in again with your password to get new attempts."
                    )
                message = FAILURE_MESSAGES.get(result.failure, WRONG_CODE_MESSAGE)
                form.add_error("code", f"{message} {left} attempt{'s' if left != 1 else ''} left.")

    return render(request, "accounts/two_factor/challenge.html", {
        "form": form,
        "email": pending.user.email,
        "seconds_left": pending.seconds_left(),
    })


def _enrolment_secret(request) -> str:
    """Return the unconfirmed secret of this session, creating one if there is none or it is stale."""
    state = request.session.get(ENROLMENT_SESSION_KEY)
    now = int(time.time())
    if (
        isinstance(state, dict)
        and isinstance(state.get("key"), str)
        and isinstance(state.get("created_at"), int)
        and now - state["created_at"] < app_settings.ENROLMENT_TIMEOUT
    ):
        return state["key"]
    key = totp.new_secret()
    request.session[ENROLMENT_SESSION_KEY] = {"key": key, "created_at": now}
    return key


def _show_recovery_codes(request, codes: list[str], title: str):
    # The codes are rendered into this one response and stored nowhere in
    # plain text. The views use never_cache, so browsers keep no copy.
    return render(request, "accounts/two_factor/recovery_codes.html", {"codes": codes, "title": title})


@never_cache
@reauthentication_required
def enable(request):
    """Show a new secret as a QR code and as text, and turn 2FA on once a current code confirms it."""
    user = request.user
    if devices.is_enrolled(user):
        messages.info(request, "Two-factor authentication is already on.")
        return redirect("account")
    key = _enrolment_secret(request)

    form = EnrolmentCodeForm(request.POST or None)
    if request.method == "POST":
        limited = ratelimit.hit(ENROLMENT_RATE, f"user:{user.pk}")
        if not limited.allowed:
            return ratelimit.too_many_requests(request, ENROLMENT_RATE, limited, key_kind="user")
        if form.is_valid():
            step = totp.match_time_step(key, form.cleaned_data["code"])
            if step is None:
                form.add_error("code", "That code does not match. Check that your phone sets its clock "
                                       "automatically, then enter the code your app shows now.")
            else:
                try:
                    device, codes = devices.enable(user, key, step, request=request)
                except devices.AlreadyEnabled:
                    messages.info(request, "Two-factor authentication is already on.")
                    return redirect("account")
                request.session.pop(ENROLMENT_SESSION_KEY, None)
                # This session just proved that it has the device. The user's
                # other sessions never passed a second factor, so they end.
                django_otp.login(request, device)
                end_other_sessions(user, keep_session_key=request.session.session_key,
                                   reason="two_factor_enabled", request=request)
                return _show_recovery_codes(request, codes, "Two-factor authentication is on")

    uri = totp.provisioning_uri(user, key)
    return render(request, "accounts/two_factor/enable.html", {
        "form": form,
        # The SVG is built by qrcode from our own URI, never from user input.
        "qr_code": mark_safe(totp.qr_code_svg(uri)),  # noqa: S308
        "secret": totp.secret_for_display(key),
        "required": is_required_for(user),
    })


def _confirmed_form(request):
    """Check the password-and-code form of regenerate and disable.

    Returns (form, confirmed, refusal); refusal is a 429 response when the
    rate limit is used up, and then form is None.
    """
    if request.method != "POST":
        return ReauthenticationForm(request), False, None
    limited = ratelimit.hit(REAUTH_RATE, f"user:{request.user.pk}")
    if not limited.allowed:
        return None, False, ratelimit.too_many_requests(request, REAUTH_RATE, limited, key_kind="user")
    form = ReauthenticationForm(request, data=request.POST)
    if form.is_valid():
        mark_reauthenticated(request)
        return form, True, None
    return form, False, None


@never_cache
@login_required
def regenerate_recovery_codes(request):
    """Replace the recovery codes after the password and a current code."""
    if not devices.is_enrolled(request.user):
        messages.info(request, "Turn on two-factor authentication first.")
        return redirect("account")
    form, confirmed, refusal = _confirmed_form(request)
    if refusal is not None:
        return refusal
    if confirmed:
        codes = devices.regenerate_recovery_codes(request.user, request=request)
        return _show_recovery_codes(request, codes, "New recovery codes")
    return render(request, "accounts/two_factor/regenerate.html", {
        "form": form,
        "remaining": devices.remaining_recovery_codes(request.user),
    })


@never_cache
@login_required
def disable(request):
    """Turn two-factor authentication off after the password and a current (or recovery) code."""
    if not devices.is_enrolled(request.user):
        messages.info(request, "Two-factor authentication is already off.")
        return redirect("account")
    form, confirmed, refusal = _confirmed_form(request)
    if refusal is not None:
        return refusal
    if confirmed:
        devices.disable(request.user, by=request.user, request=request)
        if is_required_for(request.user):
            messages.warning(request, "Two-factor authentication is off. Your role requires it: set it up again now.")
            return redirect("two_factor_enable")
        messages.success(request, "Two-factor authentication is off.")
        return redirect("account")
    return render(request, "accounts/two_factor/disable.html", {
        "form": form,
        "required": is_required_for(request.user),
    })
