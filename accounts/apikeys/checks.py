from django.core.checks import Error, register

from accounts.apikeys import app_settings

E401 = "accounts.E401"
E402 = "accounts.E402"


@register("dango")
def check_api_key_lifetimes(app_configs=None, **kwargs):
    default = app_settings.default_expiry_days()
    maximum = app_settings.max_expiry_days()
    errors = []
    if default < 0 or maximum < 0:
        errors.append(
            Error(
                f"API key lifetimes cannot be negative (default {default}, maximum {maximum}).",
                hint="Set DANGO_API_KEY_DEFAULT_EXPIRY_DAYS and DANGO_API_KEY_MAX_EXPIRY_DAYS to 0 or more days.",
                id=E401,
            )
        )
    elif maximum and (default == 0 or default > maximum):
        default_lifetime = "no expiry" if default == 0 else f"{default} days"
        errors.append(
            Error(
                f"The default API key lifetime ({default_lifetime}) is not within the maximum of {maximum} days.",
                hint="Lower DANGO_API_KEY_DEFAULT_EXPIRY_DAYS to at most DANGO_API_KEY_MAX_EXPIRY_DAYS, "
                "or set the maximum to 0 to allow keys that never expire.",
                id=E402,
            )
        )
    return errors
