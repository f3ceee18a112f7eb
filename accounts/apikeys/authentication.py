"""Authenticate a request by its ``Authorization: Bearer dango_ak_…`` header.

A key is found by the SHA-256 of the presented value through a unique index,
so no stored key is ever compared character by character. Every rejection
sends ``accounts.signals.api_key_rejected`` exactly once, with one of the
reasons in ``RejectionReason``.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from django.db.models import Q
from django.utils import timezone

from accounts import signals
from accounts.apikeys.keys import hash_key, is_well_formed
from accounts.apikeys.models import ApiKey
from accounts.apikeys.permissions import effective_permissions, restrict_user_to
from hardening.client_ip import get_client_ip

logger = logging.getLogger("accounts")

# Last use is recorded at most this often, so a busy key does not write its
# row on every request. The stored time can lag by up to this interval.
LAST_USED_INTERVAL = timedelta(minutes=1)

BEARER_SCHEME = "bearer"


class RejectionReason(str, Enum):
    MALFORMED = "malformed"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    INACTIVE_USER = "inactive_user"


REJECTION_MESSAGES = {
    RejectionReason.MALFORMED: "The Authorization header is not \"Bearer dango_ak_…\" with a complete API key.",
    RejectionReason.UNKNOWN: "The API key is not valid. Check that it was copied whole, or create a new one.",
    RejectionReason.EXPIRED: "The API key has expired. Create a new key on your account page.",
    RejectionReason.REVOKED: "The API key was revoked. Create a new key on your account page.",
    RejectionReason.INACTIVE_USER: "The account that owns this API key is deactivated.",
}


class ApiKeyRejected(Exception):
    def __init__(self, reason: RejectionReason, key: ApiKey | None = None):
        super().__init__(REJECTION_MESSAGES[reason])
        self.reason = reason
        self.key = key
        self.message = REJECTION_MESSAGES[reason]


@dataclass(frozen=True)
class KeyAuthentication:
    key: ApiKey
    user: object
    permissions: frozenset[str]


def parse_bearer(header: str) -> str:
    """Return the key from an Authorization header value, or raise ApiKeyRejected (malformed)."""
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != BEARER_SCHEME or not credentials or not is_well_formed(credentials):
        raise ApiKeyRejected(RejectionReason.MALFORMED)
    return credentials


def find_key(raw: str) -> ApiKey:
    """Return the usable key whose hash matches ``raw`` (owner loaded too); raise ApiKeyRejected otherwise."""
    try:
        key = ApiKey.objects.select_related("user").get(key_hash=hash_key(raw))
    except ApiKey.DoesNotExist:
        raise ApiKeyRejected(RejectionReason.UNKNOWN) from None
    if key.revoked_at is not None:
        raise ApiKeyRejected(RejectionReason.REVOKED, key)
    if key.expires_at is not None and key.expires_at <= timezone.now():
        raise ApiKeyRejected(RejectionReason.EXPIRED, key)
    if not key.user.is_active:
        raise ApiKeyRejected(RejectionReason.INACTIVE_USER, key)
    return key


def record_use(key: ApiKey, ip: str | None) -> None:
    """Store the time and IP of this use unless the key's row was written less than a minute ago.

    The condition sits in the UPDATE itself, so workers racing on one key
    write the row once per interval between them.
    """
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_INTERVAL:
        return
    ApiKey.objects.filter(pk=key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_INTERVAL)
    ).update(last_used_at=now, last_used_ip=ip)
    key.last_used_at, key.last_used_ip = now, ip


def _always_verified() -> bool:
    return True


def authenticate_bearer(request, header: str) -> KeyAuthentication:
    """Authenticate ``request`` by the key in ``header`` and make its owner ``request.user``.

    Permission checks on the user object use the key's effective permissions.
    django-otp's ``is_verified()`` returns True, because the key is a complete
    credential on its own, issued from a signed-in session. The session is
    never read or written.
    """
    try:
        key = find_key(parse_bearer(header))
    except ApiKeyRejected as rejection:
        logger.info("Rejected an API key (%s)", rejection.reason.value)
        signals.api_key_rejected.send(sender=ApiKey, request=request, key=rejection.key, reason=rejection.reason.value)
        raise

    user = key.user
    permissions = effective_permissions(key, user)
    restrict_user_to(user, permissions)
    user.api_key = key
    user.otp_device = None
    user.is_verified = _always_verified
    request.user = user
    request._cached_user = user

    async def auser():
        return user

    request.auser = auser
    record_use(key, get_client_ip(request))
    return KeyAuthentication(key=key, user=user, permissions=permissions)


