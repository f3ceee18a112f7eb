"""Signal receivers: each announced security event becomes one audit record.

Every receiver goes through ``_record`` so that a bug or an I/O error in the
audit path is logged and counted but never breaks the action being audited.
"""

import logging

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from accounts import signals as account_signals
from audit.recorder import count_write_failure, record_event
from rbac import signals as rbac_signals

logger = logging.getLogger("audit")


def _record(event: str, **kwargs) -> None:
    try:
        record_event(event, **kwargs)
    except Exception as error:  # noqa: BLE001 - the audited action must complete whatever happens here.
        logger.exception("Audit receiver for %s failed", event)
        count_write_failure(f"{type(error).__name__} while recording {event}")


def user_target(user=None, email=None, user_id=None) -> dict:
    if user is not None:
        return {"type": "user", "id": user.pk, "email": user.email}
    return {"type": "user", "id": user_id, "email": email}


def _submitted_identifier(credentials: dict, request) -> str | None:
    for key in ("email", "username", "login"):
        value = credentials.get(key)
        if value:
            return str(value).strip().lower()
    if request is not None and request.method == "POST":
        for key in ("login", "username", "email"):
            value = request.POST.get(key)
            if value:
                return value.strip().lower()
    return None


# Sign-in

@receiver(user_logged_in, dispatch_uid="audit.login_success")
def on_login(sender, request, user, **kwargs):
    _record("login_success", request=request, actor=user, target=user_target(user),
            details={"backend": getattr(user, "backend", None)})


@receiver(user_login_failed, dispatch_uid="audit.login_failure")
def on_login_failed(sender, credentials, request=None, **kwargs):
    email = _submitted_identifier(credentials or {}, request)
    locked = bool(getattr(request, "axes_locked_out", False)) if request is not None else False
    # The lockout handler names the reason ("invalid_credentials", "locked", "rate_limited"): the
    # failure that locks a pair had its password checked, though the request ends up locked out.
    reason = getattr(request, "dango_login_failure_reason", None) or ("locked" if locked else "invalid_credentials")
    _record("login_failure", request=request, actor=None, target=user_target(email=email),
            details={"reason": reason})


@receiver(user_logged_out, dispatch_uid="audit.logout")
def on_logout(sender, request, user, **kwargs):
    _record("logout", request=request, actor=user, target=user_target(user) if user else None)


@receiver(account_signals.session_expired, dispatch_uid="audit.session_expired")
def on_session_expired(sender, user, request, reason, **kwargs):
    _record("session_expired", request=request, actor=user, target=user_target(user), details={"reason": reason})


@receiver(account_signals.session_revoked, dispatch_uid="audit.session_revoked")
def on_session_revoked(sender, user, session, request=None, reason="revoked", **kwargs):
    _record("session_revoked", request=request, target=user_target(user),
            details={"reason": reason, "session_id": session.pk, "ip": session.ip_address})


# Passwords

@receiver(account_signals.password_changed, dispatch_uid="audit.password_changed")
def on_password_changed(sender, user, request=None, reason="self", **kwargs):
    event = "password_reset_completed" if reason == "reset" else "password_changed"
    _record(event, request=request, actor=user if reason in {"self", "reset", "invite"} else None,
            target=user_target(user), details={"reason": reason})


@receiver(account_signals.password_reset_requested, dispatch_uid="audit.password_reset_requested")
def on_password_reset_requested(sender, email, request=None, user=None, **kwargs):
    _record("password_reset_requested", request=request, actor=None, target=user_target(user=user, email=email),
            details={"known_account": user is not None})


# Two-factor

@receiver(account_signals.two_fa_enabled, dispatch_uid="audit.two_fa_enabled")
def on_two_fa_enabled(sender, user, request=None, device=None, **kwargs):
    _record("two_fa_enabled", request=request, actor=user, target=user_target(user), details={"device": device})


@receiver(account_signals.two_fa_disabled, dispatch_uid="audit.two_fa_disabled")
def on_two_fa_disabled(sender, user, request=None, by=None, **kwargs):
    _record("two_fa_disabled", request=request, actor=by, target=user_target(user),
            details={"by_owner": by is not None and by.pk == user.pk})


@receiver(account_signals.two_fa_failure, dispatch_uid="audit.two_fa_failure")
def on_two_fa_failure(sender, user, request=None, reason="wrong_code", **kwargs):
    _record("two_fa_failure", request=request, actor=None, target=user_target(user), details={"reason": reason})


@receiver(account_signals.recovery_code_used, dispatch_uid="audit.recovery_code_used")
def on_recovery_code_used(sender, user, request=None, remaining=None, **kwargs):
    _record("recovery_code_used", request=request, actor=user, target=user_target(user),
            details={"remaining": remaining})


@receiver(account_signals.recovery_codes_regenerated, dispatch_uid="audit.recovery_codes_regenerated")
def on_recovery_codes_regenerated(sender, user, request=None, count=None, **kwargs):
    _record("recovery_codes_regenerated", request=request, actor=user, target=user_target(user),
            details={"count": count})


# Lockout

@receiver(user_locked_out, dispatch_uid="audit.account_locked")
def on_locked_out(sender, request, username=None, ip_address=None, **kwargs):
    _record("account_locked", request=request, actor=None, target=user_target(email=username),
            ip=ip_address or None)


@receiver(account_signals.account_unlocked, dispatch_uid="audit.account_unlocked")
def on_unlocked(sender, email=None, ip_address=None, by=None, request=None, **kwargs):
    _record("account_unlocked", request=request, actor=by, target=user_target(email=email),
            details={"ip_address": ip_address})


@receiver(account_signals.rate_limit_hit, dispatch_uid="audit.rate_limit_hit")
def on_rate_limit_hit(sender, request, limit, key_kind=None, retry_after=None, **kwargs):
    _record("rate_limit_hit", request=request,
            details={"limit": limit, "scope": key_kind, "retry_after": retry_after, "path": request.path})


# Users and roles

@receiver(account_signals.user_created, dispatch_uid="audit.user_created")
def on_user_created(sender, user, **kwargs):
    _record("user_created", target=user_target(user))


@receiver(account_signals.user_deactivated, dispatch_uid="audit.user_deactivated")
def on_user_deactivated(sender, user, **kwargs):
    _record("user_deactivated", target=user_target(user))


@receiver(account_signals.user_reactivated, dispatch_uid="audit.user_reactivated")
def on_user_reactivated(sender, user, **kwargs):
    _record("user_reactivated", target=user_target(user))


@receiver(account_signals.user_deleted, dispatch_uid="audit.user_deleted")
def on_user_deleted(sender, user_id, email, **kwargs):
    _record("user_deleted", target=user_target(user_id=user_id, email=email))


@receiver(rbac_signals.role_changed, dispatch_uid="audit.role_changed")
def on_role_changed(sender, user, old_role, new_role, actor=None, request=None, **kwargs):
    _record("role_changed", request=request, actor=actor, target=user_target(user),
            details={"old_role": old_role.value if old_role else None, "new_role": new_role.value})


@receiver(rbac_signals.role_permissions_changed, dispatch_uid="audit.role_permissions_changed")
def on_role_permissions_changed(sender, role, added, removed, **kwargs):
    _record("role_permissions_changed", target={"type": "role", "name": role.value},
            details={"added": added, "removed": removed})


@receiver(rbac_signals.permission_denied, dispatch_uid="audit.permission_denied")
def on_permission_denied(sender, request, user, permission, **kwargs):
    _record("permission_denied", request=request, actor=user, target={"type": "path", "path": request.path},
            details={"permission": permission, "method": request.method})


# Invitations, API keys and social sign-in

@receiver(account_signals.user_invited, dispatch_uid="audit.user_invited")
def on_user_invited(sender, invite, request=None, **kwargs):
    _record("user_invited", request=request, target={"type": "invite", "id": invite.pk, "email": invite.email},
            details={"role": getattr(invite, "role", None)})


@receiver(account_signals.invite_accepted, dispatch_uid="audit.invite_accepted")
def on_invite_accepted(sender, invite, request=None, **kwargs):
    _record("invite_accepted", request=request, target={"type": "invite", "id": invite.pk, "email": invite.email})


@receiver(account_signals.invite_revoked, dispatch_uid="audit.invite_revoked")
def on_invite_revoked(sender, invite, request=None, **kwargs):
    _record("invite_revoked", request=request, target={"type": "invite", "id": invite.pk, "email": invite.email})


def _api_key_target(key) -> dict | None:
    if key is None:
        return None
    return {"type": "api_key", "id": key.pk, "key_prefix": key.prefix, "owner_id": key.user_id}


@receiver(account_signals.api_key_created, dispatch_uid="audit.api_key_created")
def on_api_key_created(sender, key, request=None, **kwargs):
    _record("api_key_created", request=request, target=_api_key_target(key),
            details={"key_name": key.name, "scopes": list(getattr(key, "scopes", None) or [])})


@receiver(account_signals.api_key_revoked, dispatch_uid="audit.api_key_revoked")
def on_api_key_revoked(sender, key, request=None, **kwargs):
    _record("api_key_revoked", request=request, target=_api_key_target(key))


@receiver(account_signals.api_key_rejected, dispatch_uid="audit.api_key_rejected")
def on_api_key_rejected(sender, request=None, key=None, reason="unknown", **kwargs):
    _record("api_key_rejected", request=request, actor=None, target=_api_key_target(key), details={"reason": reason})


@receiver(account_signals.oauth_login_rejected, dispatch_uid="audit.oauth_login_rejected")
def on_oauth_login_rejected(sender, provider, request=None, email=None, reason=None, **kwargs):
    _record("oauth_login_rejected", request=request, actor=None, target=user_target(email=email),
            details={"provider": provider, "reason": reason})


@receiver(account_signals.oauth_account_linked, dispatch_uid="audit.oauth_account_linked")
def on_oauth_account_linked(sender, provider, user, request=None, **kwargs):
    _record("oauth_account_linked", request=request, target=user_target(user), details={"provider": provider})


@receiver(account_signals.oauth_account_unlinked, dispatch_uid="audit.oauth_account_unlinked")
def on_oauth_account_unlinked(sender, provider, user, request=None, **kwargs):
    _record("oauth_account_unlinked", request=request, target=user_target(user), details={"provider": provider})
