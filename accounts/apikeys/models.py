from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ApiKeyStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class ApiKeyQuerySet(models.QuerySet):
    def active(self, now=None):
        now = now or timezone.now()
        return self.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now), revoked_at__isnull=True)


class ApiKey(models.Model):
    """A key that a script sends as ``Authorization: Bearer dango_ak_…``.

    ``key_hash`` is the SHA-256 of the whole key (see ``accounts.apikeys.keys``);
    the key itself is shown once at creation and stored nowhere. ``prefix`` is
    the start of the key, kept so the owner can recognise it. ``scopes`` is a
    list of permission names, or null for every permission of the owner's
    role. Either way, a request gets only what the owner's current role also
    grants. ``expires_at`` null means the key never expires. ``last_used_at``
    and ``last_used_ip`` are written at most once a minute per key.
    ``revoked_by`` is null when the command line revoked the key.
    ``replaced_by`` points at the successor of a rotated key, which keeps
    working until ``expires_at`` (the end of its grace period).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys", verbose_name="owner"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=32)
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    replaced_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="The successor made by a rotation; this key then works until its grace period ends.",
    )

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]
        constraints = [
            # Names identify a user's keys in lists and scripts; a revoked key
            # frees its name.
            models.UniqueConstraint(
                fields=["user", "name"], condition=Q(revoked_at__isnull=True), name="accounts_apikey_active_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    def status(self, now=None) -> ApiKeyStatus:
        if self.revoked_at is not None:
            return ApiKeyStatus.REVOKED
        if self.expires_at is not None and self.expires_at <= (now or timezone.now()):
            return ApiKeyStatus.EXPIRED
        return ApiKeyStatus.ACTIVE
