"""Two-factor management in the Django admin: the reset action, and no raw device pages.

django-otp registers admin pages for its device models, which show TOTP
keys and QR codes and let an Admin edit static tokens in plain text. Dango
manages devices only through enrolment and the reset action, so those
pages are removed from the admin site.
"""

from django.contrib import admin, messages
from django.contrib.admin.exceptions import NotRegistered
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.reauth import check_reauthentication
from accounts.twofactor import devices

for model in (TOTPDevice, StaticDevice):
    try:
        admin.site.unregister(model)
    except NotRegistered:
        pass


@admin.action(description="Reset two-factor authentication of selected users", permissions=["change"])
def reset_two_factor(modeladmin, request, queryset):
    """Turn 2FA off for the selected users, for example after a lost phone; they enrol again at next sign-in."""
    refusal = check_reauthentication(request)
    if refusal is not None:
        return refusal
    if queryset.filter(pk=request.user.pk).exists():
        modeladmin.message_user(
            request,
            "You cannot reset your own two-factor authentication here. Turn it off on your account page.",
            messages.ERROR,
        )
        return None
    reset = [user.email for user in queryset if devices.disable(user, by=request.user, request=request)]
    if reset:
        modeladmin.message_user(
            request, f"Reset two-factor authentication of {len(reset)} user(s): {', '.join(reset)}.", messages.SUCCESS
        )
    else:
        modeladmin.message_user(request, "None of the selected users had two-factor authentication.", messages.INFO)
    return None
