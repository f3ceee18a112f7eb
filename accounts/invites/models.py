import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from rbac.roles import Role

# 32 random bytes: guessing a live token is out of reach, and the rate limit
# on the invite link makes each guess cost a request.
TOKEN_BYTES = 32


def generate_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest stored in place of ``token``.

    A fast hash is enough because the token is random, not chosen by a person.
    Looking a token up by its digest leaks nothing through timing either,
    because an attacker cannot choose digests.
    """
    return hashlib.sha256(token.encode()).hexdigest()


class Invite(models.Model):
    """An Admin's invitation for one email address to join with one role.

    Only ``token_hash`` is stored; the raw token exists in the link shown to
    the Admin once. ``status`` is pending until the invite is accepted,
    revoked or replaced by a new invite for the same address (stored as
    expired). A pending invite past ``expires_at`` counts as expired too (see
    ``current_status``). ``sent_at`` is when the current link was issued
    (creation or the last resend), ``closed_at`` when the invite stopped being
    pending, and ``user`` the account that accepting it created.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"
        EXPIRED = "expired", "Expired"

    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=16, choices=[(role.value, role.label) for role in Role])
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            # One open invitation per address, so a resend or revoke by email
            # always means one row.
            models.UniqueConstraint(
                fields=["email"], condition=models.Q(status="pending"), name="accounts_invite_one_pending_per_email"
            )
        ]

    def __str__(self) -> str:
        return f"invitation for {self.email}"

    @property
    def is_expired(self) -> bool:
        return self.status == self.Status.EXPIRED or (
            self.status == self.Status.PENDING and self.expires_at <= timezone.now()
        )

    @property
    def current_status(self) -> "Invite.Status":
        """The status as of now: a pending invite past its expiry counts as expired."""
        return self.Status.EXPIRED if self.is_expired else self.Status(self.status)

    @property
    def is_usable(self) -> bool:
        return self.current_status == self.Status.PENDING

    @property
    def role_label(self) -> str:
        return Role.parse(self.role).label
