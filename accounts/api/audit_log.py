"""Read the audit log (audit.view) with the filters of ``manage.py audit query``.

Each read is itself recorded as ``audit_log_viewed`` with ``via`` "api",
the filters applied and the number of records returned.
"""

import logging

from accounts.api.base import ApiView, requires
from accounts.api.errors import ApiError
from accounts.api.parsing import int_param, query_params
from audit import app_settings as audit_settings
from audit.query import AuditFilter, InvalidFilter, query
from audit.signals import audit_log_viewed

logger = logging.getLogger("accounts")

FILTER_PARAMETERS = {"since", "until", "event", "user", "ip"}
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_OFFSET = 1_000_000


class AuditLogView(ApiView):
    @requires("audit.view")
    def get(self, request):
        """Return one page of matching records, newest first."""
        params = query_params(request, allowed={*FILTER_PARAMETERS, "limit", "offset"})
        limit = int_param(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = int_param(params, "offset", 0, 0, MAX_OFFSET)
        try:
            audit_filter = AuditFilter.parse(
                since=params.get("since"), until=params.get("until"), events=params.get("event") or (),
                user=params.get("user"), ip=params.get("ip"),
            )
            result = query(audit_filter, limit=limit, offset=offset)
        except InvalidFilter as error:
            raise ApiError(400, "invalid_parameter", str(error)) from None
        except OSError as error:
            logger.error("The API could not read the audit log %s: %s", audit_settings.log_path(), error)
            raise ApiError(503, "audit_log_unreadable",
                           "The audit log could not be read. 'manage.py audit verify' on the server shows why.") from None

        audit_log_viewed.send(
            sender=AuditLogView, via="api", filters={**audit_filter.describe(), "limit": limit, "offset": offset},
            count=len(result.records), request=request,
        )
        return {
            "count": len(result.records),
            "limit": limit,
            "offset": offset,
            "has_more": result.has_more,
            "unreadable_lines": result.unreadable_lines,
            "records": result.records,
        }
