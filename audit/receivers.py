"""Signal receivers: each announced security event becomes one audit record.

Every receiver is registered through ``audit_receiver``, so that a bug or an
I/O error anywhere in the audit path is logged and counted but never breaks
the action being audited.
"""

import functools
import logging

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import Signal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from accounts import signals as account_signals
from audit import signals as audit_signals
from audit.recorder import count_write_failure, describe_path, record_event
from credentials import signals as credential_signals
from hardening import signals as hardening_signals
from rbac import signals as rbac_signals

logger = logging.getLogger("audit")


def audit_receiver(signal: Signal, dispatch_uid: str):
    """Connect the decorated function to ``signal``; any exception it raises is logged and counted."""

    def decorator(function):
        @functools.wraps(function)
        def guarded(*args, **kwargs):
            try:
                function(*args, **kwargs)
            except Exception as error:  # noqa: BLE001 - the audited action must complete whatever happens here.
                logger.exception("Audit receiver %s failed", dispatch_uid)
                count_write_failure(f"{type(error).__name__} in audit receiver {dispatch_uid}")

        signal.connect(guarded, dispatch_uid=dispatch_uid, weak=False)
        return guarded

    return decorator


def _record(event: str, **kwargs) -> None:
    record_event(event, **kwargs)


def user_target(user=None, email=None, user_id=None) -> dict:
    if user is not None:
        return {"type": "user", "id": user.pk, "email": user.email}
    return {"type": "user", "id": user_id, "email": email}


def _submitted_identifier(credentials: dict, request) -> str | None:
    for key in ("email", "username", "login"):
        value = credentials.get(key)
        if value:
            return _email_or_none(str(value))
    if request is not None and request.method == "POST":
        for key in ("login", "username", "email"):
            value = request.POST.get(key)
            if value:
                return _email_or_none(value)
    return None


def _email_or_none(value: str) -> str | None:
    # People type their password into the email field; a value that is not
    # an email address is therefore left out of the record.
    value = value.strip().lower()
    try:
        validate_email(value)
    except ValidationError:
        return None
    return value


def _refused_by_lockout(request) -> bool:
    # axes marks a request locked both when its backend rejects a locked
    # pair and when this very failure sets the lock. Only the first kind
    # leaves the failure count unset.
    if request is None or not getattr(request, "axes_locked_out", False):
        return False
    return getattr(request, "axes_failures_since_start", None) is None


# Sign-in

@audit_receiver(user_logged_in, dispatch_uid="audit.login_success")
def on_login(sender, request, user, **kwargs):
    _record("login_success", request=request, actor=user, target=user_target(user),
            details={"backend": getattr(user, "backend", None)})


@audit_receiver(user_login_failed, dispatch_uid="audit.login_failure")
def on_login_failed(sender, credentials, request=None, **kwargs):
    email = _submitted_identifier(credentials or {}, request)
    # The lockout handler names the reason ("invalid_credentials", "locked", "rate_limited"): the
    # failure that locks a pair had its password checked, though the request ends up locked out.
    reason = getattr(request, "dango_login_failure_reason", None) or (
        "locked" if _refused_by_lockout(request) else "invalid_credentials"
    )
    if email is None and reason == "invalid_credentials":
        reason = "not_an_email"
    _record("login_failure", request=request, actor=None, target=user_target(email=email),
            details={"reason": reason})


@audit_receiver(user_logged_out, dispatch_uid="audit.logout")
def on_logout(sender, request, user, **kwargs):
    _record("logout", request=request, actor=user, target=user_target(user) if user else None)


@audit_receiver(account_signals.session_expired, dispatch_uid="audit.session_expired")
def on_session_expired(sender, user, request, reason, **kwargs):
    _record("session_expired", request=request, actor=user, target=user_target(user), details={"reason": reason})


@audit_receiver(account_signals.session_revoked, dispatch_uid="audit.session_revoked")
def on_session_revoked(sender, user, session, request=None, reason="revoked", **kwargs):
    _record("session_revoked", request=request, target=user_target(user),
            details={"reason": reason, "session_id": session.pk, "ip": session.ip_address})


# Passwords

@audit_receiver(account_signals.password_changed, dispatch_uid="audit.password_changed")
def on_password_changed(sender, user, request=None, reason="self", **kwargs):
    event = "password_reset_completed" if reason == "reset" else "password_changed"
    _record(event, request=request, actor=user if reason in {"self", "reset", "invite"} else None,
            target=user_target(user), details={"reason": reason})


@audit_receiver(account_signals.password_reset_requested, dispatch_uid="audit.password_reset_requested")
def on_password_reset_requested(sender, email, request=None, user=None, **kwargs):
    _record("password_reset_requested", request=request, actor=None, target=user_target(user=user, email=email),
            details={"known_account": user is not None})


# Two-factor

@audit_receiver(account_signals.two_fa_enabled, dispatch_uid="audit.two_fa_enabled")
def on_two_fa_enabled(sender, user, request=None, device=None, **kwargs):
    _record("two_fa_enabled", request=request, actor=user, target=user_target(user), details={"device": device})


@audit_receiver(account_signals.two_fa_disabled, dispatch_uid="audit.two_fa_disabled")
def on_two_fa_disabled(sender, user, request=None, by=None, **kwargs):
    _record("two_fa_disabled", request=request, actor=by, target=user_target(user),
            details={"by_owner": by is not None and by.pk == user.pk})


@audit_receiver(account_signals.two_fa_failure, dispatch_uid="audit.two_fa_failure")
def on_two_fa_failure(sender, user, request=None, reason="wrong_code", **kwargs):
    _record("two_fa_failure", request=request, actor=None, target=user_target(user), details={"reason": reason})


@audit_receiver(account_signals.recovery_code_used, dispatch_uid="audit.recovery_code_used")
def on_recovery_code_used(sender, user, request=None, remaining=None, **kwargs):
    _record("recovery_code_used", request=request, actor=user, target=user_target(user),
            details={"remaining": remaining})


@audit_receiver(account_signals.recovery_codes_regenerated, dispatch_uid="audit.recovery_codes_regenerated")
def on_recovery_codes_regenerated(sender, user, request=None, count=None, **kwargs):
    _record("recovery_codes_regenerated", request=request, actor=user, target=user_target(user),
            details={"count": count})


# Lockout

@audit_receiver(user_locked_out, dispatch_uid="audit.account_locked")
def on_locked_out(sender, request, username=None, ip_address=None, **kwargs):
    # axes also sends this signal for every attempt made while the lock
    # lasts; those attempts become login_failure records with reason
    # "locked". Only the failure that sets the lock has a failure count.
    failures = getattr(request, "axes_failures_since_start", None) if request is not None else None
    if request is not None and failures is None:
        return
    email = _email_or_none(username) if username else _submitted_identifier({}, request)
    # The IP comes from the project's client-IP function like every other
    # record's; axes' own value is used only without a request.
    _record("account_locked", request=request, actor=None, target=user_target(email=email),
            ip=None if request is not None else ip_address, details={"failures": failures})


@audit_receiver(account_signals.account_unlocked, dispatch_uid="audit.account_unlocked")
def on_unlocked(sender, email=None, ip_address=None, by=None, request=None, **kwargs):
    _record("account_unlocked", request=request, actor=by, target=user_target(email=email),
            details={"ip_address": ip_address})


@audit_receiver(account_signals.rate_limit_hit, dispatch_uid="audit.rate_limit_hit")
def on_rate_limit_hit(sender, request, limit, key_kind=None, retry_after=None, **kwargs):
    _record("rate_limit_hit", request=request,
            details={"limit": limit, "scope": key_kind, "retry_after": retry_after, "path": describe_path(request)})


# Users and roles

@audit_receiver(account_signals.user_created, dispatch_uid="audit.user_created")
def on_user_created(sender, user, **kwargs):
    _record("user_created", target=user_target(user))


@audit_receiver(account_signals.user_deactivated, dispatch_uid="audit.user_deactivated")
def on_user_deactivated(sender, user, **kwargs):
    _record("user_deactivated", target=user_target(user))


@audit_receiver(account_signals.user_reactivated, dispatch_uid="audit.user_reactivated")
def on_user_reactivated(sender, user, **kwargs):
    _record("user_reactivated", target=user_target(user))


@audit_receiver(account_signals.user_deleted, dispatch_uid="audit.user_deleted")
def on_user_deleted(sender, user_id, email, **kwargs):
    _record("user_deleted", target=user_target(user_id=user_id, email=email))


@audit_receiver(rbac_signals.role_changed, dispatch_uid="audit.role_changed")
def on_role_changed(sender, user, old_role, new_role, actor=None, request=None, **kwargs):
    _record("role_changed", request=request, actor=actor, target=user_target(user),
            details={"old_role": old_role.value if old_role else None, "new_role": new_role.value})


@audit_receiver(rbac_signals.role_permissions_changed, dispatch_uid="audit.role_permissions_changed")
def on_role_permissions_changed(sender, role, added, removed, **kwargs):
    _record("role_permissions_changed", target={"type": "role", "name": role.value},
            details={"added": added, "removed": removed})


@audit_receiver(rbac_signals.permission_denied, dispatch_uid="audit.permission_denied")
def on_permission_denied(sender, request, user, permission, **kwargs):
    _record("permission_denied", request=request, actor=user, target={"type": "path", "path": describe_path(request)},
            details={"permission": permission, "method": request.method})


# Invitations, API keys and social sign-in

@audit_receiver(account_signals.user_invited, dispatch_uid="audit.user_invited")
def on_user_invited(sender, invite, request=None, actor=None, resent=False, **kwargs):
    _record("user_invited", request=request, actor=actor,
            target={"type": "invite", "id": invite.pk, "email": invite.email},
            details={"role": getattr(invite, "role", None), "resent": resent})


@audit_receiver(account_signals.invite_accepted, dispatch_uid="audit.invite_accepted")
def on_invite_accepted(sender, invite, request=None, **kwargs):
    # The actor is the person accepting: the user the invitation created.
    _record("invite_accepted", request=request, actor=getattr(invite, "user", None),
            target={"type": "invite", "id": invite.pk, "email": invite.email})


@audit_receiver(account_signals.invite_revoked, dispatch_uid="audit.invite_revoked")
def on_invite_revoked(sender, invite, request=None, actor=None, **kwargs):
    _record("invite_revoked", request=request, actor=actor,
            target={"type": "invite", "id": invite.pk, "email": invite.email})


def _api_key_target(key) -> dict | None:
    if key is None:
        return None
    return {"type": "api_key", "id": key.pk, "key_prefix": key.prefix, "owner_id": key.user_id}


@audit_receiver(account_signals.api_key_created, dispatch_uid="audit.api_key_created")
def on_api_key_created(sender, key, request=None, **kwargs):
    _record("api_key_created", request=request, target=_api_key_target(key),
            details={"key_name": key.name, "scopes": list(getattr(key, "scopes", None) or [])})


@audit_receiver(account_signals.api_key_revoked, dispatch_uid="audit.api_key_revoked")
def on_api_key_revoked(sender, key, request=None, **kwargs):
    _record("api_key_revoked", request=request, target=_api_key_target(key))


@audit_receiver(account_signals.api_key_rejected, dispatch_uid="audit.api_key_rejected")
def on_api_key_rejected(sender, request=None, key=None, reason="unknown", **kwargs):
    _record("api_key_rejected", request=request, actor=None, target=_api_key_target(key), details={"reason": reason})


@audit_receiver(account_signals.oauth_login_rejected, dispatch_uid="audit.oauth_login_rejected")
def on_oauth_login_rejected(sender, provider, request=None, email=None, reason=None, **kwargs):
    _record("oauth_login_rejected", request=request, actor=None, target=user_target(email=email),
            details={"provider": provider, "reason": reason})


@audit_receiver(account_signals.oauth_account_linked, dispatch_uid="audit.oauth_account_linked")
def on_oauth_account_linked(sender, provider, user, request=None, **kwargs):
    _record("oauth_account_linked", request=request, target=user_target(user), details={"provider": provider})


@audit_receiver(account_signals.oauth_account_unlinked, dispatch_uid="audit.oauth_account_unlinked")
def on_oauth_account_unlinked(sender, provider, user, request=None, **kwargs):
    _record("oauth_account_unlinked", request=request, target=user_target(user), details={"provider": provider})


# The audit log itself

@audit_receiver(audit_signals.audit_log_viewed, dispatch_uid="audit.audit_log_viewed")
def on_audit_log_viewed(sender, via, filters, count, request=None, **kwargs):
    details = {"via": via, "filters": filters, "count": count}
    if request is None:
        # From the command line the operator is known only by the OS account.
        details["os_user"] = _os_user()
    _record("audit_log_viewed", request=request, details=details)


def _os_user() -> str | None:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


# Keys and platform

@audit_receiver(credential_signals.secret_key_rotated, dispatch_uid="audit.secret_key_rotated")
def on_secret_key_rotated(sender, phase, fallbacks, **kwargs):
    _record("secret_key_rotated", target={"type": "key", "name": "SECRET_KEY"},
            details={"phase": phase, "fallbacks": fallbacks})


@audit_receiver(credential_signals.encryption_key_rotated, dispatch_uid="audit.encryption_key_rotated")
def on_encryption_key_rotated(sender, counts, **kwargs):
    _record("encryption_key_rotated", target={"type": "key", "name": "encryption_keys"},
            details={"counts": counts})


# Credentials: the signals carry the dotted path or the source name, never a value.

def _secret_target(path: str) -> dict:
    return {"type": "secret", "path": path}


def _oauth_source_target(source: str) -> dict:
    return {"type": "oauth_source", "source": source}


def _credential_details(request, **details) -> dict:
    """Add who acted where the actor alone does not say it: the API key used, or the OS account."""
    api_key = getattr(request, "api_key", None) if request is not None else None
    if api_key is not None:
        details["key_prefix"] = api_key.prefix
    elif request is None:
        details["os_user"] = _os_user()
    return details


@audit_receiver(credential_signals.secret_set, dispatch_uid="audit.secret_set")
def on_secret_set(sender, path, created, actor=None, request=None, **kwargs):
    _record("secret_set", request=request, actor=actor, target=_secret_target(path),
            details=_credential_details(request, created=created))


@audit_receiver(credential_signals.secret_deleted, dispatch_uid="audit.secret_deleted")
def on_secret_deleted(sender, path, actor=None, request=None, **kwargs):
    _record("secret_deleted", request=request, actor=actor, target=_secret_target(path),
            details=_credential_details(request))


@audit_receiver(credential_signals.secret_revealed, dispatch_uid="audit.secret_revealed")
def on_secret_revealed(sender, path, actor=None, request=None, **kwargs):
    _record("secret_revealed", request=request, actor=actor, target=_secret_target(path),
            details=_credential_details(request))


@audit_receiver(credential_signals.oauth_token_stored, dispatch_uid="audit.oauth_token_stored")
def on_oauth_token_stored(sender, source, account="", scopes=(), actor=None, request=None, **kwargs):
    _record("oauth_token_stored", request=request, actor=actor, target=_oauth_source_target(source),
            details=_credential_details(request, account=account or None, scopes=list(scopes)))


@audit_receiver(credential_signals.oauth_token_refreshed, dispatch_uid="audit.oauth_token_refreshed")
def on_oauth_token_refreshed(sender, source, expires_at, refresh_token_rotated=False, **kwargs):
    _record("oauth_token_refreshed", target=_oauth_source_target(source),
            details={"expires_at": expires_at.isoformat(), "rotated": refresh_token_rotated})


@audit_receiver(credential_signals.oauth_token_refresh_failed, dispatch_uid="audit.oauth_token_refresh_failed")
def on_oauth_token_refresh_failed(sender, source, error, permanent, **kwargs):
    _record("oauth_token_refresh_failed", target=_oauth_source_target(source),
            details={"reason": error, "permanent": permanent})


@audit_receiver(credential_signals.oauth_token_revoked, dispatch_uid="audit.oauth_token_revoked")
def on_oauth_token_revoked(sender, source, revoked_at_provider, actor=None, request=None, **kwargs):
    _record("oauth_token_revoked", request=request, actor=actor, target=_oauth_source_target(source),
            details=_credential_details(request, revoked_at_provider=revoked_at_provider))


@audit_receiver(account_signals.security_settings_changed, dispatch_uid="audit.security_settings_changed")
def on_security_settings_changed(sender, setting, changed, request=None, **kwargs):
    _record("security_settings_changed", request=request, target={"type": "setting", "name": setting},
            details={"changed": list(changed)})


@audit_receiver(hardening_signals.ip_blocked, dispatch_uid="audit.ip_blocked")
def on_ip_blocked(sender, request, ip, path, **kwargs):
    # The allowlist sends this at most once per address per interval, so a
    # scan cannot flood the log.
    _record("ip_blocked", request=request, actor=None, target={"type": "path", "path": describe_path(request)},
            ip=ip)
