from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.core.exceptions import PermissionDenied

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

    def get_login_stages(self) -> list[str]:
        # Every allauth sign-in, password or social, runs these stages before
        # Django's login(). The second factor goes last, after any stage that
        # could still change or reject the user.
        return [*super().get_login_stages(), "accounts.twofactor.stage.TwoFactorStage"]


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin) -> bool:
        return False
