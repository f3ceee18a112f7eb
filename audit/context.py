"""The request being served, for receivers whose signal carries no request.

Model signals (a user saved, deleted) know nothing of the request that
caused them; the middleware stores it in a context variable so the audit
record can still name the actor, IP, user agent and request id.
"""

import contextvars

current_request: contextvars.ContextVar = contextvars.ContextVar("dango_audit_request", default=None)


def get_current_request():
    return current_request.get()
