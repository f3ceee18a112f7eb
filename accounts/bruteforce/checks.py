from django.conf import settings
from django.core.checks import Error, Tags, register

HANDLER = "accounts.bruteforce.handler.LockoutHandler"
PAIR_PARAMETERS = [["username", "ip_address"]]

E101 = Error(
    "AXES_HANDLER is not the lockout gate's handler, so parallel sign-in attempts can run more password checks "
    "than AXES_FAILURE_LIMIT.",
    hint=f'Set AXES_HANDLER = "{HANDLER}".',
    id="accounts.E101",
)
E102 = Error(
    "AXES_LOCKOUT_PARAMETERS does not lock the (email, client IP) pair that the lockout gate counts.",
    hint=f"Set AXES_LOCKOUT_PARAMETERS = {PAIR_PARAMETERS!r}.",
    id="accounts.E102",
)
E103 = Error(
    "AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT is True, so rejected attempts would count as new failures.",
    hint="Set AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False.",
    id="accounts.E103",
)
E104 = Error(
    "AXES_COOLOFF_TIME is None, so a lockout would last until an Admin clears it and any stranger could lock "
    "a user out for good from one address.",
    hint="Set AXES_COOLOFF_TIME = timedelta(minutes=15) or another period.",
    id="accounts.E104",
)


@register(Tags.security)
def check_lockout_settings(app_configs=None, **kwargs) -> list[Error]:
    if not getattr(settings, "AXES_ENABLED", True):
        return []
    errors = []
    if getattr(settings, "AXES_HANDLER", None) != HANDLER:
        errors.append(E101)
    if getattr(settings, "AXES_LOCKOUT_PARAMETERS", None) != PAIR_PARAMETERS:
        errors.append(E102)
    if getattr(settings, "AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT", True):
        errors.append(E103)
    if getattr(settings, "AXES_COOLOFF_TIME", None) is None:
        errors.append(E104)
    return errors
