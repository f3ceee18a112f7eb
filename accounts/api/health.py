"""Platform health for monitoring: 200 when every check passes, 503 otherwise.

The response names each check and whether it passed, but no file paths or
error texts, because health.view is a Viewer permission. The details belong
in ``manage.py check`` on the server.
"""

import logging
import secrets

from django.core.cache import cache
from django.db import DatabaseError, connection

from accounts.api.base import ApiView, requires
from accounts.api.parsing import query_params
from audit.checks import check_audit_log_writable, check_audit_write_failures

logger = logging.getLogger("accounts")

CACHE_PROBE_KEY = "dango:health:probe"


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        logger.error("Health check: the database is unreachable: %s", error)
        return "The database does not answer."
    return None


def check_cache() -> str | None:
    token = secrets.token_hex(8)
    try:
        cache.set(CACHE_PROBE_KEY, token, timeout=10)
        readback = cache.get(CACHE_PROBE_KEY)
    except Exception as error:  # noqa: BLE001 - cache clients (Redis, memcached) raise their own error classes.
        logger.error("Health check: the cache is unreachable: %s", error)
        return "The cache (rate limits, sessions) does not answer."
    if readback != token:
        return "The cache did not return the value just stored in it."
    return None


def check_audit_log() -> str | None:
    if check_audit_log_writable():
        return "The audit log is not writable by the server process."
    return None


def check_audit_failures() -> str | None:
    if check_audit_write_failures():
        return "Some audit records could not be written and have not been reviewed yet."
    return None


CHECKS = {
    "database": check_database,
    "cache": check_cache,
    "audit_log_writable": check_audit_log,
    "audit_write_failures": check_audit_failures,
}


class HealthView(ApiView):
    @requires("health.view")
    def get(self, request):
        query_params(request, allowed=set())
        results = {}
        for name, check in CHECKS.items():
            problem = check()
            results[name] = {"ok": problem is None, **({"message": problem} if problem else {})}
        healthy = all(result["ok"] for result in results.values())
        return (200 if healthy else 503), {"status": "ok" if healthy else "failing", "checks": results}
