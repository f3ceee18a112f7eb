"""Check a second-factor code: a TOTP code or a recovery code.

Both the sign-in code step and recent re-authentication call
``verify_code``, so replay protection, lockout counting and the audit
events are the same on every path.
"""

import logging
from dataclasses import dataclass

import django_otp
from django.utils import timezone
from django_otp.models import Device

from accounts import signals
from accounts.twofactor import lockout, totp
from accounts.twofactor.devices import get_recovery_device, get_totp_device
from accounts.twofactor.recovery import normalize_recovery_code

logger = logging.getLogger("accounts")

TOTP = "totp"
RECOVERY = "recovery"

# Failure reasons, as sent with ``two_fa_failure``.
WRONG_CODE = "wrong_code"
REPLAYED = "replayed"
THROTTLED = "throttled"
LOCKED_OUT = "locked_out"


@dataclass(frozen=True)
class VerificationResult:
    """The outcome of one code check.

    ``device`` is the django-otp device that accepted the code, or None.
    ``failure`` is one of the reasons above when the code was rejected.
    ``counted`` is True when the rejection counted toward the lockout.
    """

    method: str
    device: Device | None = None
    failure: str | None = None
    counted: bool = False
    locked_out: bool = False
    retry_after: int | None = None

    @property
    def accepted(self) -> bool:
        return self.device is not None


def classify_code(raw) -> tuple[str, str] | None:
    """Return (method, normalised code), or None when ``raw`` has the shape of neither kind."""
    code = totp.normalize_totp_code(raw)
    if code is not None:
        return TOTP, f"{code:0{totp.DIGITS}d}"
    recovery = normalize_recovery_code(raw)
    if recovery is not None:
        return RECOVERY, recovery
    return None


def verify_code(request, user, raw_code: str, lockout_email: str | None = None) -> VerificationResult:
    """Check ``raw_code`` for ``user``; send the audit signals and count a wrong code in axes.

    ``lockout_email`` is the email under which axes counts failures: the
    one typed at the password step, so both steps share a counter. Raises
    ValueError when ``raw_code`` has the shape of neither a TOTP code nor a
    recovery code; forms reject such input before calling this.
    """
    classified = classify_code(raw_code)
    if classified is None:
        raise ValueError("A code is six digits or a 12-character recovery code.")
    method, code = classified
    email = lockout_email or user.email

    if lockout.is_locked_out(request, email):
        return VerificationResult(method=method, failure=LOCKED_OUT, locked_out=True)

    if method == TOTP:
        result = _verify_totp(user, code)
    else:
        result = _verify_recovery(user, code)

    if result.accepted:
        if method == RECOVERY:
            remaining = result.device.remaining()
            logger.info("User %s used a recovery code; %s left", user.pk, remaining)
            signals.recovery_code_used.send(sender=type(result.device), user=user, request=request, remaining=remaining)
        return result

    signals.two_fa_failure.send(sender=VerificationResult, user=user, request=request, reason=result.failure)
    if result.failure == THROTTLED:
        # The device did not check the code at all, so the attempt reveals
        # nothing to the sender and does not count toward the lockout.
        return result
    locked_out = lockout.record_code_failure(request, email)
    return VerificationResult(method=method, failure=result.failure, counted=True, locked_out=locked_out)


def _verify_totp(user, code: str) -> VerificationResult:
    device = get_totp_device(user)
    if device is None:
        return VerificationResult(method=TOTP, failure=WRONG_CODE)
    allowed, throttle = device.verify_is_allowed()
    if not allowed:
        return VerificationResult(method=TOTP, failure=THROTTLED, retry_after=_seconds_until(throttle))
    # verify_token locks the device row (select_for_update) for the check and
    # the update of last_t. Of two requests with one code only the first
    # passes, because the second reads last_t already at that step.
    verified = django_otp.verify_token(user, device.persistent_id, code)
    if verified is not None:
        return VerificationResult(method=TOTP, device=verified)

    device.refresh_from_db()
    step = totp.match_time_step(device.key, int(code))
    if step is not None and step <= device.last_t:
        return VerificationResult(method=TOTP, failure=REPLAYED)
    return VerificationResult(method=TOTP, failure=WRONG_CODE)


def _verify_recovery(user, code: str) -> VerificationResult:
    device = get_recovery_device(user)
    if device is None or get_totp_device(user) is None:
        return VerificationResult(method=RECOVERY, failure=WRONG_CODE)
    verified = django_otp.verify_token(user, device.persistent_id, code)
    if verified is not None:
        return VerificationResult(method=RECOVERY, device=verified)
    return VerificationResult(method=RECOVERY, failure=REPLAYED if device.was_used(code) else WRONG_CODE)


def _seconds_until(throttle: dict | None) -> int | None:
    locked_until = (throttle or {}).get("locked_until")
    if locked_until is None:
        return None
    return max(1, int((locked_until - timezone.now()).total_seconds()) + 1)
