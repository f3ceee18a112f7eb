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


def invite_summary(invite) -> dict:
    inviter = invite.invited_by
    return {
        "id": invite.pk,
        "email": invite.email,
        "role": invite.role,
        "status": str(invite.current_status),
        "invited_by": {"id": inviter.pk, "email": inviter.email} if inviter else None,
        "created_at": timestamp(invite.created_at),
        "sent_at": timestamp(invite.sent_at),
        "expires_at": timestamp(invite.expires_at),
        "closed_at": timestamp(invite.closed_at),
    }


def oauth_source_summary(summary) -> dict:
    """Shape a ``credentials.oauth_state.TokenSummary``, which contains no token or client secret."""
    return {
        "source": summary.source,
        "account": summary.account or None,
        "scopes": summary.scopes,
        "status": summary.status,
        "expires_at": timestamp(summary.expires_at),
        "last_refresh_at": timestamp(summary.last_refresh_at),
        "last_error": summary.last_error or None,
        "last_error_at": timestamp(summary.last_error_at),
        "missing_keys": summary.missing_keys,
    }
