from allauth.account.forms import ResetPasswordForm
from allauth.core.exceptions import ImmediateHttpResponse
from django.http import HttpRequest

from accounts import signals
from accounts.bruteforce import limits
from accounts.bruteforce.responses import wants_json
from accounts.managers import normalize_email_address
from accounts.ratelimit import hit, too_many_requests
from hardening.client_ip import get_client_ip


class RateLimitedResetPasswordForm(ResetPasswordForm):
    """allauth's password-reset request form, limited per client IP and per email.

    Installed as ``ACCOUNT_FORMS["reset_password"]``. The limits count valid
    requests only and apply whether or not an account has the email, so a
    rejection reveals nothing about which emails exist. A rejected request
    sends no email and gets 429 with Retry-After. An accepted one sends
    ``accounts.signals.password_reset_requested`` once.
    """

    def save(self, request: HttpRequest, **kwargs) -> str:
        email = normalize_email_address(self.cleaned_data["email"])
        checks = [
            (limits.password_reset_per_ip(), get_client_ip(request) or "", "ip"),
            (limits.password_reset_per_email(), email, "email"),
        ]
        for rate, key, key_kind in checks:
            result = hit(rate, key)
            if not result.allowed:
                # allauth's AccountMiddleware turns this into the response.
                raise ImmediateHttpResponse(
                    too_many_requests(request, rate, result, key_kind=key_kind, json=wants_json(request))
                )

        users = getattr(self, "users", None) or []
        signals.password_reset_requested.send(
            sender=type(self), email=email, request=request, user=users[0] if users else None
        )
        return super().save(request, **kwargs)
