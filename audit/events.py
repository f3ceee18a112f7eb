"""The registry of audit event types.

Event names are stable public identifiers: log readers, SIEM rules and the
fail2ban filter match on them, so a name is never reused or changed. Each
entry says when the event is emitted.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class EventType:
    name: str
    domain: str
    emitted_when: str


_EVENT_TYPES = [
    # Sign-in
    EventType("login_success", "sign-in", "a user completes sign-in (password, OAuth, admin login, after any second factor)"),
    EventType("login_failure", "sign-in", "a sign-in attempt fails: wrong password, unknown email, inactive or locked account"),
    EventType("logout", "sign-in", "a user signs out"),
    EventType("session_expired", "sign-in", "a session ends at its idle timeout or absolute lifetime"),
    EventType("session_revoked", "sign-in", "a session is signed out from another session, by a password change or by deactivation"),
    EventType("ip_blocked", "sign-in", "a request from outside the IP allowlist is refused (at most once per IP per minute)"),
    # Passwords
    EventType("password_changed", "passwords", "a password is changed by its owner, set by an Admin or reset from the command line"),
    EventType("password_reset_requested", "passwords", "someone asks for a password reset email"),
    EventType("password_reset_completed", "passwords", "a password is set from a reset link"),
    # Two-factor
    EventType("two_fa_enabled", "two-factor", "a user confirms a new TOTP device"),
    EventType("two_fa_disabled", "two-factor", "a user or an Admin removes two-factor authentication"),
    EventType("two_fa_failure", "two-factor", "a wrong TOTP or recovery code is entered"),
    EventType("recovery_code_used", "two-factor", "a recovery code completes a sign-in"),
    EventType("recovery_codes_regenerated", "two-factor", "a new set of recovery codes replaces the old one"),
    # Lockout
    EventType("account_locked", "lockout", "too many failures lock an (email, IP) pair"),
    EventType("account_unlocked", "lockout", "an Admin or the command line clears a lockout"),
    EventType("rate_limit_hit", "lockout", "a request is refused by a rate limit"),
    # Social login
    EventType("oauth_login_rejected", "social login", "a Google or GitHub identity matches no allowed user or has no verified email"),
    EventType("oauth_account_linked", "social login", "a Google or GitHub identity is linked to a user"),
    EventType("oauth_account_unlinked", "social login", "a Google or GitHub identity is unlinked from a user"),
    # Users and roles
    EventType("user_created", "users and roles", "a user account is created"),
    EventType("user_invited", "users and roles", "an Admin invites an email address"),
    EventType("invite_accepted", "users and roles", "an invited person accepts and sets a password"),
    EventType("invite_revoked", "users and roles", "an Admin revokes an invitation"),
    EventType("user_deactivated", "users and roles", "a user is deactivated"),
    EventType("user_reactivated", "users and roles", "a deactivated user is reactivated"),
    EventType("user_deleted", "users and roles", "a user is deleted"),
    EventType("role_changed", "users and roles", "a user's role changes"),
    EventType("role_permissions_changed", "users and roles", "syncing roles repairs a role group whose permissions drifted from the registry"),
    EventType("permission_denied", "users and roles", "a signed-in user is refused for lack of a permission"),
    # API keys
    EventType("api_key_created", "API keys", "an API key is created"),
    EventType("api_key_revoked", "API keys", "an API key is revoked"),
    EventType("api_key_rejected", "API keys", "a request presents an unknown, malformed, expired or revoked key"),
    # Credentials
    EventType("secret_set", "credentials", "a data-source secret is added or changed (the path, never the value)"),
    EventType("secret_deleted", "credentials", "a data-source secret is deleted"),
    EventType("secret_revealed", "credentials", "a user reveals a masked secret"),
    EventType("oauth_token_stored", "credentials", "a data source's OAuth tokens are stored"),
    EventType("oauth_token_refreshed", "credentials", "a data source's access token is refreshed"),
    EventType("oauth_token_refresh_failed", "credentials", "refreshing a data source's access token fails"),
    EventType("oauth_token_revoked", "credentials", "a data source's OAuth tokens are revoked and removed"),
    # Keys and platform
    EventType("encryption_key_rotated", "keys and platform", "the encryption key list is rotated"),
    EventType("secret_key_rotated", "keys and platform", "Django's SECRET_KEY is rotated or its fallbacks are dropped"),
    EventType("audit_log_viewed", "keys and platform", "someone queries, exports or views the audit log"),
    EventType("security_settings_changed", "keys and platform", "a security setting is changed at run time"),
]


def _build_registry(event_types: list[EventType]) -> dict[str, EventType]:
    names = [event.name for event in event_types]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"Duplicate audit event names: {', '.join(duplicates)}")
    return {event.name: event for event in event_types}


EVENT_TYPES: dict[str, EventType] = _build_registry(_EVENT_TYPES)


def get_event_type(name: str) -> EventType:
    try:
        return EVENT_TYPES[name]
    except KeyError:
        raise LookupError(f"Unknown audit event {name!r}; the registered events are listed in audit/events.py.") from None
