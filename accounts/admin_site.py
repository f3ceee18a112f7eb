from django.contrib import admin
from django.shortcuts import redirect

from rbac.assignment import is_admin


class DangoAdminSite(admin.AdminSite):
    """The Django admin, open to active users holding the Admin role only."""

    site_header = "Dango administration"
    site_title = "Dango admin"
    index_title = "Users, roles and security"

    def has_permission(self, request) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and is_admin(user))

    def password_change(self, request, extra_context=None):
        # One password change page for everyone, so the policy checks and the
        # sign-out of other sessions happen in one place.
        return redirect("account_change_password")
