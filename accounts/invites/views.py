"""The invitee's side: open the link, choose a password, get signed in.

Opening ``/invite/<token>/`` moves the token's digest into the session and
redirects to ``/invite/accept/``, so the token leaves the address bar before
the page loads anything that could carry it on in a Referer header (Django's
password reset does the same).
"""

from allauth.account.utils import perform_login
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_safe

from accounts.invites.forms import AcceptInviteForm
from accounts.invites.models import Invite
from accounts.invites.service import InviteError, accept_invite, find_invite
from accounts.passwords import apply_password_change
from accounts.ratelimit import RateLimit, hit, too_many_requests
from accounts.redirects import is_site_path, safe_next_url
from hardening.client_ip import get_client_ip

INVITE_SESSION_KEY = "dango_invite_token_hash"
# Requests to the invite pages per client IP. A real invitee needs a handful
# (open, a retry or two on the password policy); a token guesser needs far
# more than any window allows.
INVITE_RATE_LIMIT = RateLimit(name="invite_link", limit=20, window=15 * 60)

UNUSABLE_MESSAGES = {
    Invite.Status.ACCEPTED: (
        "This invitation was already used",
        "The account for {email} was created with this link on {closed:%Y-%m-%d}. Sign in with that "
        "email address instead.",
    ),
    Invite.Status.REVOKED: (
        "This invitation was revoked",
        "An Admin revoked the invitation for {email}. Ask an Admin for a new invitation if you still "
        "need an account.",
    ),
    Invite.Status.EXPIRED: (
        "This invitation has expired",
        "The invitation for {email} expired on {expires:%Y-%m-%d %H:%M} UTC. Ask an Admin to send you "
        "a new link.",
    ),
}


def _rate_limited(request):
    result = hit(INVITE_RATE_LIMIT, get_client_ip(request) or "unknown")
    if not result.allowed:
        return too_many_requests(request, INVITE_RATE_LIMIT, result, key_kind="ip")
    return None


def _invalid_link(request):
    return TemplateResponse(
        request,
        "accounts/invite_unusable.html",
        {
            "heading": "This invitation link is not valid",
            "message": "Check that you opened the whole link from your invitation. If an Admin sent you a "
            "newer link, only the newest one works. Otherwise ask an Admin for a new invitation.",
        },
        status=404,
    )


def _unusable(request, invite: Invite):
    heading, message = UNUSABLE_MESSAGES[invite.current_status]
    text = message.format(email=invite.email, closed=invite.closed_at, expires=invite.expires_at)
    return TemplateResponse(
        request, "accounts/invite_unusable.html", {"heading": heading, "message": text}, status=410
    )


@never_cache
@require_safe
def open_invite(request, token: str):
    # The token is a live credential until used. The audit log and Django's
    # request logger both print request.path, so they get a placeholder.
    request.path = request.path_info = reverse("invite_open", kwargs={"token": "redacted"})
    if limited := _rate_limited(request):
        return limited
    invite = find_invite(token)
    if invite is None:
        return _invalid_link(request)
    if not invite.is_usable:
        return _unusable(request, invite)
    request.session[INVITE_SESSION_KEY] = invite.token_hash
    target = reverse("invite_accept")
    next_url = request.GET.get("next")
    if is_site_path(next_url):
        target += "?" + urlencode({"next": next_url})
    return redirect(target)


@never_cache
@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "HEAD", "POST"])
def accept(request):
    if limited := _rate_limited(request):
        return limited
    token_hash = request.session.get(INVITE_SESSION_KEY)
    invite = Invite.objects.filter(token_hash=token_hash).first() if token_hash else None
    if invite is None:
        return _invalid_link(request)
    if not invite.is_usable:
        return _unusable(request, invite)

    next_url = request.POST.get("next") if request.method == "POST" else request.GET.get("next")
    form = AcceptInviteForm(request.POST if request.method == "POST" else None, invite=invite)
    if request.method == "POST" and form.is_valid():
        try:
            user = accept_invite(
                invite, form.cleaned_data["password1"], form.cleaned_data["full_name"], request=request
            )
        except InviteError as error:
            if error.code == "user_exists":
                form.add_error(None, error)
            else:
                invite.refresh_from_db()
                return _unusable(request, invite)
        except ValidationError as error:
            # create_user checks the policy again. The form already did, so
            # this only keeps an unexpected rejection from being a server error.
            form.add_error("password1", error)
        else:
            request.session.pop(INVITE_SESSION_KEY, None)
            response = perform_login(
                request, user, email_verification="none", redirect_url=safe_next_url(next_url)
            )
            apply_password_change(user, request=request, reason="invite")
            return response

    return TemplateResponse(
        request,
        "accounts/invite_accept.html",
        {"form": form, "invite": invite, "next": next_url if is_site_path(next_url) else ""},
    )
