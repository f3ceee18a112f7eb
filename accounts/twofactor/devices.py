"""Turn two-factor authentication on and off and replace recovery codes.

A user "has 2FA" when they own a confirmed TOTP device; the recovery code
set is created and deleted together with it. Every change here sends its
``accounts.signals`` event, which the audit log records.
"""

import logging

from django.contrib.auth import get_user_model
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import signals
from accounts.twofactor import totp
from accounts.twofactor.app_settings import app_settings
from accounts.twofactor.models import RecoveryCode, RecoveryCodeDevice
from accounts.twofactor.recovery import generate_code, hash_code

logger = logging.getLogger("accounts")

TOTP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


class AlreadyEnabled(Exception):
    """Two-factor authentication is already on for the user."""


def get_totp_device(user) -> TOTPDevice | None:
    if user is None or not getattr(user, "pk", None):
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def is_enrolled(user) -> bool:
    if user is None or not getattr(user, "pk", None):
        return False
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def get_recovery_device(user) -> RecoveryCodeDevice | None:
    return RecoveryCodeDevice.objects.filter(user=user).first()


def remaining_recovery_codes(user) -> int:
    return RecoveryCode.objects.filter(device__user=user, used_at=None).count()


def _lock_user(user) -> None:
    # Serialises enable, disable and regenerate for one user, so two tabs
    # cannot create two devices or two code sets.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()


def _replace_codes(device: RecoveryCodeDevice) -> list[str]:
    device.codes.all().delete()
    codes = [generate_code() for _ in range(app_settings.RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.bulk_create([RecoveryCode(device=device, code_hash=hash_code(code)) for code in codes])
    return codes


@transaction.atomic
def enable(user, key_hex: str, confirmed_step: int, request=None) -> tuple[TOTPDevice, list[str]]:
    """Create the user's TOTP device from a confirmed secret and a fresh set of recovery codes.

    ``confirmed_step`` is the time step of the code that confirmed the
    secret. It becomes the device's last used step, so that code cannot
    also complete a sign-in. Returns the device and the plain recovery
    codes, which the caller shows once. Raises AlreadyEnabled.
    """
    _lock_user(user)
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise AlreadyEnabled(f"Two-factor authentication is already enabled for user {user.pk}.")
    # Unconfirmed devices are never created by Dango; drop any left by other tools.
    TOTPDevice.objects.filter(user=user).delete()
    RecoveryCodeDevice.objects.filter(user=user).delete()

    device = TOTPDevice.objects.create(
        user=user,
        name=TOTP_DEVICE_NAME,
        key=key_hex,
        step=totp.STEP,
        digits=totp.DIGITS,
        tolerance=totp.TOLERANCE,
        last_t=confirmed_step,
        confirmed=True,
    )
    recovery_device = RecoveryCodeDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = _replace_codes(recovery_device)
    logger.info("Enabled two-factor authentication for user %s", user.pk)
    signals.two_fa_enabled.send(sender=TOTPDevice, user=user, request=request, device=device.name)
    return device, codes


@transaction.atomic
def disable(user, by=None, request=None) -> bool:
    """Delete the user's TOTP device and recovery codes; return False if there was nothing to delete.

    ``by`` is the user who turned it off (the owner or an Admin), or None
    for the command line.
    """
    _lock_user(user)
    deleted_totp, _ = TOTPDevice.objects.filter(user=user).delete()
    deleted_recovery, _ = RecoveryCodeDevice.objects.filter(user=user).delete()
    if not (deleted_totp or deleted_recovery):
        return False
    logger.info("Disabled two-factor authentication for user %s (by %s)", user.pk, by.pk if by else "command line")
    signals.two_fa_disabled.send(sender=TOTPDevice, user=user, request=request, by=by)
    return True


@transaction.atomic
def regenerate_recovery_codes(user, request=None) -> list[str]:
    """Replace every recovery code of the user with a new set; the old codes stop working at once."""
    _lock_user(user)
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise ValueError(f"User {user.pk} has no two-factor authentication, so there are no recovery codes to replace.")
    device, _ = RecoveryCodeDevice.objects.get_or_create(
        user=user, defaults={"name": RECOVERY_DEVICE_NAME, "confirmed": True}
    )
    codes = _replace_codes(device)
    logger.info("Regenerated recovery codes for user %s", user.pk)
    signals.recovery_codes_regenerated.send(sender=RecoveryCodeDevice, user=user, request=request, count=len(codes))
    return codes
