import logging

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger("hardening")


@never_cache
@require_GET
def healthz(request):
    """Report liveness to uptime monitors: "ok" and whether the database responds, nothing else.

    It needs no sign-in, so it must not reveal versions, hosts or error text;
    the error goes to the log instead.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("Liveness check failed: the database did not respond to SELECT 1")
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
