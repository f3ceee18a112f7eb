from django.conf import settings
from django.core.checks import Tags, register
from django.core.checks import Warning as CheckWarning

W121 = "dango.W121"
W122 = "dango.W122"


@register(Tags.security, deploy=True)
def check_session_timeouts(app_configs, **kwargs) -> list:
    messages = []
    if getattr(settings, "DANGO_SESSION_IDLE_TIMEOUT", None) == 0:
        messages.append(
            CheckWarning(
                "The idle session timeout is off: a session left open on a shared computer stays signed in "
                "until its absolute lifetime ends.",
                hint="Set DANGO_SESSION_IDLE_TIMEOUT to a number of seconds, such as 3600.",
                id=W121,
            )
        )
    if getattr(settings, "DANGO_SESSION_ABSOLUTE_TIMEOUT", None) == 0:
        messages.append(
            CheckWarning(
                "The absolute session timeout is off: a stolen session cookie stays valid for as long as it is used.",
                hint="Set DANGO_SESSION_ABSOLUTE_TIMEOUT to a number of seconds, such as 2592000 (30 days).",
                id=W122,
            )
        )
    return messages
