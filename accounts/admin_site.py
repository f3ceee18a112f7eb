from django.conf import settings
from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from accounts.twofactor.policy import satisfies_policy
from rbac.assignment import is_admin


class DangoAdminSite(admin.AdminSite):
    """The Django admin, open to active users holding the Admin role only.

    A user with two-factor authentication also needs a session that passed
    the second factor, and a user whom the policy obliges to have it needs
    to have it.
    """

    site_header = "Dango administration"
    site_title = "Dango admin"
    index_title = "Users, roles and security"

    def has_permission(self, request) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and is_admin(user) and satisfies_policy(user))

    def password_change(self, request, extra_context=None):
        # One password change page for everyone, so the policy checks and the
        # sign-out of other sessions happen in one place.
        return redirect("account_change_password")

    def login(self, request, extra_context=None):
        # The admin's own login form would call authenticate() and login()
        # directly, skipping the second factor and allauth's rate limits, so
        # every admin sign-in goes through the site's sign-in page instead.
        index = reverse("admin:index", current_app=self.name)
        next_url = request.GET.get(REDIRECT_FIELD_NAME) or index
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
            next_url = index
        if request.user.is_authenticated:
            if self.has_permission(request):
                return redirect(next_url)
            # Redirecting to the sign-in page would send a signed-in user
            # straight back here.
            return TemplateResponse(
                request,
                "403.html",
                {"message": "Your account cannot use the admin. Only Admins can."},
                status=403,
            )
        return redirect(f"{reverse(settings.LOGIN_URL)}?{urlencode({REDIRECT_FIELD_NAME: next_url})}")
