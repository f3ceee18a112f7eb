"""Turn an event into a record and hand it to the writer.

This is the only caller of the writer. A failure to write never stops the
audited action: it is logged at ERROR, counted in ``WriteFailure`` and
reported by ``manage.py check``.
"""

import logging
import math
import re

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils.module_loading import import_string

from audit import app_settings
from audit.context import get_current_request
from audit.events import get_event_type
from audit.writer import AuditLogCorrupted, AuditWriter

logger = logging.getLogger("audit")

# Keys whose values are never stored in ``details``, whatever the caller passes.
SECRET_KEY_PATTERN = re.compile(r"pass|secret|token|key|signature|otp|code|credential|authorization|cookie", re.I)
# Keys that look secret-like by the pattern but only hold identifiers.
SAFE_DETAIL_KEYS = {"path", "key_prefix", "key_id", "key_name", "source", "reason", "permission", "role", "old_role",
                    "new_role", "added", "removed", "provider", "scopes", "count", "remaining", "method", "status",
                    "device", "event", "filters", "format", "limit", "window", "retry_after", "scope", "session_id",
                    "fingerprint", "rotated", "expires_at", "backend", "sources", "invite_id", "changed"}
MAX_DETAIL_STRING = 1024

_writer: AuditWriter | None = None
_writer_config: tuple | None = None


def get_writer() -> AuditWriter:
    global _writer, _writer_config
    config = (app_settings.log_path(), app_settings.max_bytes(), app_settings.fsync())
    if _writer is None or _writer_config != config:
        if _writer is not None:
            _writer.close()
        _writer = AuditWriter(*config)
        _writer_config = config
    return _writer


def client_ip(request) -> str | None:
    function = import_string(getattr(settings, "AUDIT_CLIENT_IP_FUNCTION", "hardening.client_ip.get_client_ip"))
    return function(request)


def describe_path(request) -> str:
    """Return the request's path, or its URL pattern when the path carries a secret.

    A password reset link carries its key in the path; the pattern
    (``password/reset/key/<uidb36>-<key>/``) names the page without it.
    """
    match = getattr(request, "resolver_match", None)
    if match is not None and any(SECRET_KEY_PATTERN.search(name) for name in match.kwargs):
        return "/" + match.route.lstrip("^").rstrip("$")
    return request.path


def describe_user(user) -> dict | None:
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "pk", None):
        return None
    return {"id": user.pk, "email": getattr(user, "email", "")}


def clean_details(details: dict | None) -> dict:
    """Drop secret-looking keys and cap string sizes, recursively."""

    def clean(value, depth=0):
        if depth > 4:
            return "<nested too deep>"
        if isinstance(value, dict):
            return {
                str(k): clean(v, depth + 1)
                for k, v in value.items()
                if str(k) in SAFE_DETAIL_KEYS or not SECRET_KEY_PATTERN.search(str(k))
            }
        if isinstance(value, (list, tuple, set)):
            return [clean(v, depth + 1) for v in list(value)[:100]]
        if isinstance(value, str):
            return value[:MAX_DETAIL_STRING]
        if isinstance(value, float) and not math.isfinite(value):
            # JSON has no NaN or infinity; the writer would reject the record.
            return str(value)
        if value is None or isinstance(value, (bool, int, float)):
            return value
        return str(value)[:MAX_DETAIL_STRING]

    return clean(details or {})


def build_record(event: str, *, request=None, actor=None, target=None, details=None, ip=None) -> dict:
    get_event_type(event)
    request = request if request is not None else get_current_request()
    if actor is None and request is not None:
        actor = getattr(request, "user", None)
    user_agent = ""
    request_id = None
    if request is not None:
        user_agent = request.META.get("HTTP_USER_AGENT", "")[: app_settings.user_agent_max_length()]
        request_id = getattr(request, "request_id", None)
        if ip is None:
            ip = client_ip(request)
    # ``ts`` is stamped by the writer while it holds the lock.
    return {
        "event": event,
        "actor": describe_user(actor) if not isinstance(actor, dict) else actor,
        "target": clean_details(target) if target else None,
        "ip": ip,
        "user_agent": user_agent,
        "request_id": request_id,
        "details": clean_details(details),
    }


def record_event(event: str, **kwargs) -> dict | None:
    """Append one event; return the sealed record, or None if it could not be written."""
    record = build_record(event, **kwargs)
    try:
        return get_writer().append(record)
    except (OSError, AuditLogCorrupted) as error:
        logger.error("Could not write audit event %s to %s: %s", event, app_settings.log_path(), error)
        count_write_failure(str(error))
        return None


def count_write_failure(message: str) -> None:
    """Add one to the failure counter that ``manage.py check`` reports.

    NOTE: the counter is written in the caller's transaction, so a rollback
    of the audited action loses the count. The ERROR log line remains.
    """
    from django.db.models import F
    from django.utils import timezone as django_timezone

    from audit.models import WriteFailure

    values = {"last_error": message[:500], "last_failed_at": django_timezone.now()}
    try:
        # The savepoint keeps a database error here from breaking the
        # audited action's transaction.
        with transaction.atomic():
            updated = WriteFailure.objects.filter(pk=1).update(count=F("count") + 1, **values)
            if not updated:
                WriteFailure.objects.create(pk=1, count=1, **values)
    except IntegrityError:
        # Another process created the row first; count on it.
        try:
            with transaction.atomic():
                WriteFailure.objects.filter(pk=1).update(count=F("count") + 1, **values)
        except DatabaseError:
            logger.exception("Could not count the audit write failure in the database either")
    except DatabaseError:
        logger.exception("Could not count the audit write failure in the database either")
