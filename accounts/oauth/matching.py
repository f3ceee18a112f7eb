"""Decide which Dango user a Google or GitHub sign-in belongs to, if any.

Sign-up is closed, so an identity signs in only as a user who already exists
or was invited. An identity already linked to a user signs in as that user.
Otherwise it is matched through the email addresses the provider itself
marks verified: Google's ``email_verified``, and GitHub's verified addresses
from ``/user/emails``. An unverified address never matches, because anyone
can put any address on a provider account. A match is linked to the user
when the sign-in completes (``accounts.oauth.links``).
"""

import logging

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.providers.base import AuthProcess
from django.template.response import TemplateResponse

from accounts import signals
from accounts.invites.models import Invite
from accounts.invites.service import InviteError, accept_invite
from accounts.managers import normalize_email_address
from accounts.models import User
from accounts.oauth.providers import provider_name

logger = logging.getLogger("accounts")

# Why a sign-in was refused: the reason recorded in the audit log, and the
# heading and message shown to the person. {provider} and {emails} are filled in.
REJECTIONS = {
    "no_verified_email": (
        "{provider} did not confirm an email address",
        "{provider} did not report a verified email address for this account, so Dango cannot tell which user "
        "you are. Verify your email address with {provider} and try again, or sign in with your email and "
        "password.",
    ),
    "unknown_identity": (
        "No Dango account matches",
        "No Dango user has an email address that {provider} confirmed for you ({emails}). Dango accounts are "
        "created by invitation only: ask an Admin to invite your address, then sign in again.",
    ),
    "ambiguous_email": (
        "Several Dango accounts match",
        "{provider} confirmed email addresses of more than one Dango user ({emails}). Sign in with your email "
        "and password, then link {provider} from your account page.",
    ),
    "inactive_user": (
        "This account is deactivated",
        "The Dango account for {emails} is deactivated, so it cannot sign in. Ask an Admin to reactivate it.",
    ),
    "invite_expired": (
        "Your invitation has expired",
        "The invitation for {emails} has expired. Ask an Admin to send you a new one, then sign in with "
        "{provider} again.",
    ),
}


def verified_emails(sociallogin: SocialLogin) -> list[str]:
    """Return the addresses the provider marks verified, normalised, primary first."""
    addresses = sorted(sociallogin.email_addresses, key=lambda address: not address.primary)
    emails: list[str] = []
    for address in addresses:
        email = normalize_email_address(address.email)
        if address.verified and email and email not in emails:
            emails.append(email)
    return emails


def _any_email(sociallogin: SocialLogin) -> str | None:
    for address in sociallogin.email_addresses:
        if address.email:
            return normalize_email_address(address.email)
    return None


def reject(request, sociallogin: SocialLogin, reason: str, emails: list[str]) -> ImmediateHttpResponse:
    """Announce a refused sign-in and return the exception that shows the refusal page."""
    provider_id = sociallogin.account.provider
    name = provider_name(provider_id)
    logger.warning("Refused sign-in with %s (uid %s): %s", name, sociallogin.account.uid, reason)
    signals.oauth_login_rejected.send(
        sender=SocialLogin,
        provider=provider_id,
        request=request,
        email=emails[0] if emails else None,
        reason=reason,
    )
    heading, message = REJECTIONS[reason]
    context = {
        "heading": heading.format(provider=name),
        "message": message.format(provider=name, emails=", ".join(emails) or "(none)"),
    }
    response = TemplateResponse(request, "accounts/oauth_rejected.html", context, status=403)
    return ImmediateHttpResponse(response.render())


def check_social_login(request, sociallogin: SocialLogin) -> None:
    """Point ``sociallogin`` at the user it signs in, or raise ImmediateHttpResponse to refuse it.

    Runs after allauth looked the identity up among linked accounts. Linking
    by a signed-in user (the "connect" process) is left to allauth: the user
    proved both identities, so no email needs to match.
    """
    if sociallogin.state.get("process") == AuthProcess.CONNECT:
        return

    if sociallogin.is_existing:
        user = sociallogin.user
        if not user.is_active:
            raise reject(request, sociallogin, "inactive_user", [user.email])
        return

    emails = verified_emails(sociallogin)
    if not emails:
        unverified = _any_email(sociallogin)
        raise reject(request, sociallogin, "no_verified_email", [unverified] if unverified else [])

    users = list(User.objects.filter(email__in=emails))
    if len(users) > 1:
        raise reject(request, sociallogin, "ambiguous_email", sorted(user.email for user in users))
    if users:
        user = users[0]
        if not user.is_active:
            raise reject(request, sociallogin, "inactive_user", [user.email])
        sociallogin.user = user
        return

    invite = Invite.objects.filter(email__in=emails, status=Invite.Status.PENDING).order_by("-sent_at").first()
    if invite is None:
        raise reject(request, sociallogin, "unknown_identity", emails)
    if not invite.is_usable:
        raise reject(request, sociallogin, "invite_expired", [invite.email])
    try:
        # The provider proved control of the invited address, which is what
        # the invite link proves; the user can set a password later.
        sociallogin.user = accept_invite(invite, password=None, request=request)
    except InviteError:
        # The invitation was accepted or revoked by a concurrent request.
        raise reject(request, sociallogin, "unknown_identity", emails) from None
