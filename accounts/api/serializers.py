"""The JSON shapes of the objects the API returns."""

from datetime import datetime, timezone

from rbac.assignment import get_role
from rbac.roles import ROLE_GROUP_NAMES, Role


def timestamp(value: datetime | None) -> str | None:
    """Format an aware datetime as UTC ISO-8601 with a ``Z``, or None."""
    if value is None:
        return None
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def role_of(user) -> Role | None:
    """Return the user's role, from prefetched groups when a list loaded them in one query."""
    prefetched = getattr(user, "_prefetched_objects_cache", {})
    if "groups" not in prefetched:
        return get_role(user)
    names = [group.name for group in prefetched["groups"] if group.name in ROLE_GROUP_NAMES]
    return Role.from_group_name(names[0]) if len(names) == 1 else None


def user_summary(user) -> dict:
    role = role_of(user)
    return {
        "id": user.pk,
        "email": user.email,
        "full_name": user.full_name,
        "role": role.value if role else None,
        "is_active": user.is_active,
        "last_login": timestamp(user.last_login),
        "date_joined": timestamp(user.date_joined),
    }


def api_key_summary(key) -> dict:
    return {
        "id": key.pk,
        "name": key.name,
        "prefix": key.prefix,
        "scopes": key.scopes,
        "status": key.status().value,
        "created_at": timestamp(key.created_at),
        "expires_at": timestamp(key.expires_at),
        "last_used_at": timestamp(key.last_used_at),
        "last_used_ip": key.last_used_ip,
        "revoked_at": timestamp(key.revoked_at),
    }
