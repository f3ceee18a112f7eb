from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.oauth import errors, links, matching, providers
from accounts.redirects import is_site_path
from hardening.client_ip import get_client_ip


class AccountAdapter(DefaultAccountAdapter):
    """allauth adapter: sign-up is closed and the client IP is the project's."""

    def is_open_for_signup(self, request) -> bool:
        # Users join through an Admin: the admin, `manage.py users`, or an invite.
        return False

    def get_client_ip(self, request) -> str:
        ip = get_client_ip(request)
        if not ip:
            # allauth keys its rate limits by IP; without one it cannot apply them.
            raise PermissionDenied("The client IP address could not be determined.")
        return ip

    def is_safe_url(self, url) -> bool:
        # allauth also accepts absolute URLs to hosts in ALLOWED_HOSTS; a
        # next= target after sign-in may only be a path on this site.
        return is_site_path(url)
    def get_login_stages(self) -> list[str]:
        # Every allauth sign-in, password or social, runs these stages before
        # Django's login(). The second factor goes last, after any stage that
        # could still change or reject the user.
        return [*super().get_login_stages(), "accounts.twofactor.stage.TwoFactorStage"]


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Google and GitHub sign-in for existing and invited users only (accounts.oauth)."""

    def is_open_for_signup(self, request, sociallogin) -> bool:
        return False

    def pre_social_login(self, request, sociallogin) -> None:
        matching.check_social_login(request, sociallogin)

    def on_authentication_error(self, request, provider, error=None, exception=None, extra_context=None) -> None:
        raise ImmediateHttpResponse(
            errors.authentication_error_response(request, provider, error, exception, extra_context)
        )

    def is_email_verified(self, provider, email) -> bool:
        # Only the provider's own flag counts as verification; allauth's
        # VERIFIED_EMAIL switch would let any address it reports match a user.
        return False

    def can_authenticate_by_email(self, login, email) -> bool:
        # accounts.oauth.matching matches by verified email itself. allauth's
        # version would also wipe the password of a user whose address has
        # no verified EmailAddress row.
        return False

    def validate_disconnect(self, account, accounts) -> None:
        links.check_can_unlink(account)

    def list_apps(self, request, provider=None, client_id=None):
        return providers.drop_shadowed_apps(super().list_apps(request, provider=provider, client_id=client_id))

    def get_app(self, request, provider, client_id=None):
        try:
            return super().get_app(request, provider, client_id=client_id)
        except SocialApp.DoesNotExist:
            # A sign-in URL of a provider that is not set up is a page that
            # does not exist here, not a server error.
            name = providers.provider_name(provider)
            raise Http404(f"Sign-in with {name} is not configured on this site.") from None

