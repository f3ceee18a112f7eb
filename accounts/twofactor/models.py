from django.db import models
from django.utils import timezone
from django_otp.models import Device

from accounts.twofactor.recovery import RecoveryCodeHasher, normalize_recovery_code


class RecoveryCodeDevice(Device):
    """The recovery codes of one user, verified as a django-otp device.

    A user has at most one, created when two-factor authentication is enabled
    and deleted with it. Being a django-otp device lets a recovery code
    complete a sign-in like a TOTP code: the session records this device and
    ``request.user.is_verified()`` is true. Regenerating the codes keeps the
    device and replaces its ``codes``.
    """

    class Meta:
        verbose_name = "recovery code set"
        constraints = [models.UniqueConstraint(fields=["user"], name="accounts_one_recovery_code_set_per_user")]

    def verify_token(self, token) -> bool:
        """Use up the unused code matching ``token``; return whether one matched.

        The caller holds a row lock on this device (django_otp.verify_token
        loads it with select_for_update), and the conditional UPDATE below
        marks the code used only if it is still unused, so two simultaneous
        requests with the same code cannot both succeed.
        """
        normalized = normalize_recovery_code(token)
        if normalized is None:
            return False
        hasher = RecoveryCodeHasher()
        match = None
        # Every unused code is checked, without stopping at a match, so the
        # time taken does not reveal which code matched.
        for code in self.codes.filter(used_at=None):
            if hasher.verify(normalized, code.code_hash) and match is None:
                match = code
        if match is None:
            return False
        return RecoveryCode.objects.filter(pk=match.pk, used_at=None).update(used_at=timezone.now()) == 1

    def was_used(self, token) -> bool:
        """Return whether ``token`` matches a code of this set that is already used up."""
        normalized = normalize_recovery_code(token)
        if normalized is None:
            return False
        hasher = RecoveryCodeHasher()
        return any(hasher.verify(normalized, code.code_hash) for code in self.codes.exclude(used_at=None))

    def remaining(self) -> int:
        return self.codes.filter(used_at=None).count()


class RecoveryCode(models.Model):
    """One single-use recovery code, stored only as a salted PBKDF2 hash.

    ``used_at`` is set when the code completes a verification. A used code
    is kept rather than deleted, so the account page can count what is left
    and an incident review can find when each code was spent.
    """

    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["device", "used_at"])]

    def __str__(self) -> str:
        return f"recovery code {self.pk} of set {self.device_id}"
