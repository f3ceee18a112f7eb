from django import template

from accounts.twofactor import devices
from accounts.twofactor.app_settings import app_settings
from accounts.twofactor.policy import is_required_for

register = template.Library()


@register.simple_tag
def two_factor_summary(user) -> dict:
    """Return the two-factor state shown on the account page: enabled, remaining, total, required."""
    enabled = devices.is_enrolled(user)
    return {
        "enabled": enabled,
        "remaining": devices.remaining_recovery_codes(user) if enabled else 0,
        "total": app_settings.RECOVERY_CODE_COUNT,
        "required": is_required_for(user),
    }
