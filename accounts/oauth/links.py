"""Linking and unlinking Google and GitHub identities, and the events for both.

allauth sends ``social_account_added`` for every new link: an explicit link
from the account page, or the first sign-in matched by a verified email. It
sends ``social_account_removed`` for every unlink, including from its own
connections page. The receivers here turn both into Dango's signals.
"""

from allauth.account import signals as account_signals
from allauth.socialaccount import signals as social_signals
from allauth.socialaccount.models import SocialAccount, SocialLogin
from allauth.socialaccount.providers.base import AuthProcess
from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import receiver

from accounts import signals
from accounts.models import User
from accounts.oauth.providers import provider_name


def check_can_unlink(account: SocialAccount) -> None:
    """Raise ValidationError when ``account`` is the user's last way to sign in."""
    user = account.user
    has_other_links = SocialAccount.objects.filter(user_id=account.user_id).exclude(pk=account.pk).exists()
    if not has_other_links and not user.has_usable_password():
        name = provider_name(account.provider)
        raise ValidationError(
            f"{name} is the only way {user.email} can sign in, so it cannot be unlinked. "
            f"Set a password first, then unlink {name}.",
            code="last_sign_in_method",
        )


def unlink(account: SocialAccount, request=None) -> None:
    """Remove the link between ``account`` and its user, unless it is their last way to sign in."""
    with transaction.atomic():
        # Lock the user so that two unlinks at once cannot both see the
        # other link and leave the user with no way to sign in.
        account.user = User.objects.select_for_update().get(pk=account.user_id)
        check_can_unlink(account)
        account.delete()
    social_signals.social_account_removed.send(sender=SocialAccount, request=request, socialaccount=account)


@receiver(account_signals.user_logged_in, dispatch_uid="accounts.oauth.link_matched_identity")
def link_matched_identity(sender, request, user, sociallogin: SocialLogin | None = None, **kwargs):
    """Save the link for an identity that ``check_social_login`` matched by verified email."""
    if sociallogin is None or sociallogin.account.pk is not None:
        return
    if sociallogin.state.get("process") == AuthProcess.CONNECT:
        return
    sociallogin.connect(request, user)


@receiver(social_signals.social_account_added, dispatch_uid="accounts.oauth.announce_linked")
def announce_linked(sender, request, sociallogin: SocialLogin, **kwargs):
    account = sociallogin.account
    signals.oauth_account_linked.send(
        sender=SocialAccount, provider=account.provider, user=account.user, request=request, uid=account.uid
    )


@receiver(social_signals.social_account_removed, dispatch_uid="accounts.oauth.announce_unlinked")
def announce_unlinked(sender, request, socialaccount: SocialAccount, **kwargs):
    signals.oauth_account_unlinked.send(
        sender=SocialAccount,
        provider=socialaccount.provider,
        user=socialaccount.user,
        request=request,
        uid=socialaccount.uid,
    )
