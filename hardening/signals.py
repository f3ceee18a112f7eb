from django.dispatch import Signal

# A request was refused because its client IP is not on DANGO_IP_ALLOWLIST.
# Sent at most once per client IP per DANGO_IP_BLOCKED_EVENT_INTERVAL seconds,
# so a scan from one address does not flood the audit log.
# Arguments: request, ip (str, or None when the address could not be
# determined), path (the requested URL path).
ip_blocked = Signal()
