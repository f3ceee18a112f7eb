"""Rotation of API keys with a grace period.

A rotated key gets a successor with the same owner, name, scopes and
lifetime. The old key is renamed and keeps working until the grace period
ends, so scripts have time to switch over. ``revoke_retired_keys`` then revokes old
keys whose grace period has passed.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.apikeys import app_settings
from accounts.apikeys.models import ApiKey
from accounts.apikeys.operations import ApiKeyError, CreatedKey, create_api_key, revoke_api_key

logger = logging.getLogger("accounts")

NAME_MAX_LENGTH = 100


@dataclass
class RotatedKey:
    old: ApiKey
    new: CreatedKey


def grace_period() -> timedelta:
    return timedelta(hours=app_settings.rotation_grace_hours())


def _retiring_name(key: ApiKey, now) -> str:
    suffix = f" (rotated {now:%Y-%m-%d %H:%M})"
    return key.name[: NAME_MAX_LENGTH - len(suffix)] + suffix


def _successor_lifetime(old: ApiKey) -> int | None:
    """Give the successor the old key's lifetime, within today's maximum; None picks the default."""
    maximum = app_settings.max_expiry_days()
    if old.expires_at is None:
        return 0 if not maximum else None
    days = max(1, (old.expires_at - old.created_at).days)
    return min(days, maximum) if maximum else days


@transaction.atomic
def rotate_api_key(key: ApiKey, grace: timedelta | None = None, request=None) -> RotatedKey:
    """Give ``key`` a successor and let it work only until the grace period ends."""
    grace = grace_period() if grace is None else grace
    old = ApiKey.objects.select_for_update().select_related("user").get(pk=key.pk)
    now = timezone.now()
    if old.revoked_at is not None or (old.expires_at is not None and old.expires_at <= now):
        raise ApiKeyError("not_active", f"The key {old.prefix}… is {old.status(now).label.lower()}; only active keys rotate.")
    if old.replaced_by_id is not None:
        raise ApiKeyError(
            "already_rotated", f"The key {old.prefix}… was already rotated; rotate its successor instead."
        )

    original_name = old.name
    old.name = _retiring_name(old, now)
    old.save(update_fields=["name"])
    created = create_api_key(
        old.user, original_name, scopes=old.scopes, expires_in_days=_successor_lifetime(old), request=request
    )
    end_of_grace = now + grace
    old.replaced_by = created.key
    old.expires_at = min(old.expires_at, end_of_grace) if old.expires_at else end_of_grace
    old.save(update_fields=["replaced_by", "expires_at"])
    logger.info("Rotated API key %s to %s; the old key works until %s", old.pk, created.key.pk, old.expires_at)
    return RotatedKey(old=old, new=created)


def revoke_retired_keys(request=None) -> list[ApiKey]:
    """Revoke every rotated key whose grace period has ended."""
    now = timezone.now()
    retired = ApiKey.objects.filter(replaced_by__isnull=False, revoked_at__isnull=True, expires_at__lte=now)
    return [revoke_api_key(key, request=request) for key in retired]
