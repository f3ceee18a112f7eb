"""Create and revoke API keys: the one code path for the account page, the API,
the admin and ``manage.py apikeys``, so every caller gets the same checks and
the same audit events.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import signals
from accounts.apikeys import app_settings
from accounts.apikeys.keys import generate_key
from accounts.apikeys.models import ApiKey
from accounts.apikeys.permissions import role_permissions
from rbac.permissions import PERMISSIONS

logger = logging.getLogger("accounts")

NAME_MAX_LENGTH = ApiKey._meta.get_field("name").max_length
# Lifetimes above this are rejected even without a configured maximum, because
# they would overflow datetime. A lifetime of 0 requests a key that never expires.
LIFETIME_LIMIT_DAYS = 100 * 365


class ApiKeyError(ValueError):
    """An API key request that cannot be carried out; ``code`` is machine-readable.

    ``field`` names the input at fault, or is None when the problem is not one
    input (too many keys, a key already revoked).
    """

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


# Codes that mean "the request conflicts with the current state" rather than
# "the input is invalid". The API returns them with status 409.
CONFLICT_CODES = frozenset({"name_taken", "too_many_keys", "already_revoked"})


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    raw: str  # shown once to the creator, never stored


def clean_name(name) -> str:
    if not isinstance(name, str):
        raise ApiKeyError("invalid_name", "The key name must be a string.", "name")
    cleaned = name.strip()
    if not cleaned:
        raise ApiKeyError("invalid_name", "Give the key a name, for example the script that will use it.", "name")
    if len(cleaned) > NAME_MAX_LENGTH:
        raise ApiKeyError(
            "invalid_name", f"The key name has {len(cleaned)} characters; the maximum is {NAME_MAX_LENGTH}.", "name"
        )
    if any(not character.isprintable() for character in cleaned):
        raise ApiKeyError("invalid_name", "The key name may not contain control characters.", "name")
    return cleaned


def clean_scopes(scopes, allowed: frozenset[str], limit_label: str = "your role") -> list[str] | None:
    """Return ``scopes`` sorted and de-duplicated, or None for "every permission of the role".

    Every name must be registered and within ``allowed``.
    """
    if scopes is None:
        return None
    if not isinstance(scopes, list) or not all(isinstance(scope, str) for scope in scopes):
        raise ApiKeyError("invalid_scopes", "Scopes must be a list of permission names such as \"source.view\".", "scopes")
    if not scopes:
        raise ApiKeyError(
            "invalid_scopes",
            "The scope list is empty. Name at least one permission, or leave scopes out to grant every "
            f"permission of {limit_label}.",
            "scopes",
        )
    unknown = sorted({scope for scope in scopes if scope not in PERMISSIONS})
    if unknown:
        raise ApiKeyError(
            "invalid_scopes", f"Unknown permission name(s): {', '.join(unknown)}. Use dotted names such as source.view.",
            "scopes",
        )
    outside = sorted({scope for scope in scopes if scope not in allowed})
    if outside:
        raise ApiKeyError(
            "invalid_scopes",
            f"{limit_label[0].upper()}{limit_label[1:]} does not grant {', '.join(outside)}, so a key cannot carry it.",
            "scopes",
        )
    return sorted(set(scopes))


def expiry_from_days(days, now=None):
    """Return the expiry time for a lifetime of ``days``. None selects the default lifetime.

    ``0`` requests a key that never expires, allowed only when no maximum is set.
    """
    now = now or timezone.now()
    maximum = app_settings.max_expiry_days()
    if days is None:
        days = app_settings.default_expiry_days()
    if isinstance(days, bool) or not isinstance(days, int):
        raise ApiKeyError("invalid_expiry", "The lifetime must be a whole number of days.", "expires_in_days")
    if days < 0:
        raise ApiKeyError("invalid_expiry", f"The lifetime {days} is negative; give 1 or more days.", "expires_in_days")
    if days == 0:
        if maximum:
            raise ApiKeyError(
                "invalid_expiry", f"Keys must expire within {maximum} days on this server; give a lifetime of 1 to "
                f"{maximum} days.", "expires_in_days"
            )
        return None
    if maximum and days > maximum:
        raise ApiKeyError(
            "invalid_expiry", f"The lifetime {days} days exceeds this server's maximum of {maximum} days.",
            "expires_in_days",
        )
    if days > LIFETIME_LIMIT_DAYS:
        raise ApiKeyError(
            "invalid_expiry", f"The lifetime {days} days is too long; use at most {LIFETIME_LIMIT_DAYS} days, or 0 "
            "for a key that never expires.", "expires_in_days",
        )
    return now + timedelta(days=days)


@transaction.atomic
def create_api_key(user, name, scopes=None, expires_in_days=None, request=None,
                   allowed_scopes: frozenset[str] | None = None, allowed_label: str = "your role") -> CreatedKey:
    """Create a key for ``user`` and announce it; return the row and the raw key.

    ``allowed_scopes`` narrows what the key may carry below the owner's role,
    for a key created by another key. Raises ApiKeyError and writes nothing
    when any input is invalid.
    """
    if not user.is_active:
        raise ApiKeyError("inactive_user", f"{user.email} is deactivated and cannot hold API keys.", "user")
    name = clean_name(name)
    allowed = role_permissions(user)
    if allowed_scopes is not None:
        allowed = allowed & allowed_scopes
    scopes = clean_scopes(scopes, allowed, allowed_label)
    if scopes is None and allowed_scopes is not None:
        # A key may create another key, but never one with more than it has.
        scopes = sorted(allowed)
    now = timezone.now()
    expires_at = expiry_from_days(expires_in_days, now)

    # Lock the owner's row so two concurrent creations cannot both pass the count.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    active = ApiKey.objects.filter(user=user).active()
    maximum = app_settings.max_keys_per_user()
    if maximum and active.count() >= maximum:
        raise ApiKeyError(
            "too_many_keys", f"You already have {maximum} active API keys, the maximum. Revoke one you no longer use."
        )
    if ApiKey.objects.filter(user=user, name=name, revoked_at__isnull=True).exists():
        raise ApiKeyError("name_taken", f"You already have a key named {name!r}. Choose another name.", "name")

    generated = generate_key()
    try:
        with transaction.atomic():
            key = ApiKey.objects.create(
                user=user, name=name, prefix=generated.prefix, key_hash=generated.hash, scopes=scopes,
                created_at=now, expires_at=expires_at,
            )
    except IntegrityError:
        # The unique name constraint caught a concurrent creation with the same name.
        raise ApiKeyError("name_taken", f"You already have a key named {name!r}. Choose another name.", "name") from None
    logger.info("Created API key %s (%s) for user %s", key.pk, key.prefix, user.pk)
    signals.api_key_created.send(sender=ApiKey, key=key, request=request)
    return CreatedKey(key=key, raw=generated.raw)


@transaction.atomic
def revoke_api_key(key: ApiKey, by=None, request=None) -> ApiKey:
    """Revoke ``key`` and announce it; ``by`` is None for the command line."""
    locked = ApiKey.objects.select_for_update().get(pk=key.pk)
    if locked.revoked_at is not None:
        raise ApiKeyError(
            "already_revoked", f"The key {locked.prefix}… was already revoked on {locked.revoked_at:%Y-%m-%d %H:%M} UTC."
        )
    locked.revoked_at = timezone.now()
    locked.revoked_by = by
    locked.save(update_fields=["revoked_at", "revoked_by"])
    key.revoked_at, key.revoked_by = locked.revoked_at, locked.revoked_by
    logger.info("Revoked API key %s (%s) of user %s", locked.pk, locked.prefix, locked.user_id)
    signals.api_key_revoked.send(sender=ApiKey, key=locked, request=request)
    return locked
