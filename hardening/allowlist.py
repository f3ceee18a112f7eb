"""Refuse every client whose IP address is not on DANGO_IP_ALLOWLIST.

The allowlist is off while the setting is empty. Paths listed in
DANGO_IP_ALLOWLIST_EXEMPT_PATHS (exact matches, such as a load balancer's
``/healthz``) are served to everyone. A client whose address cannot be
determined is refused like any other unlisted client.
"""

import hashlib
import logging

from django.core.cache import cache
from django.http import HttpResponse, JsonResponse

from hardening import conf
from hardening.client_ip import get_client_ip, is_ip_in_networks
from hardening.signals import ip_blocked

logger = logging.getLogger("hardening")

BLOCKED_CACHE_PREFIX = "dango:hardening:ip_blocked:"


def _expects_json(request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def announce_blocked(request, ip: str | None) -> bool:
    """Send ip_blocked unless it was sent for ``ip`` within the last interval; return whether it was sent.

    The gate is a cache entry per address, so with a shared cache (Redis) the
    limit applies across every worker and host.
    """
    interval = conf.get_ip_blocked_event_interval()
    digest = hashlib.sha256((ip or "unknown").encode()).hexdigest()
    if not cache.add(BLOCKED_CACHE_PREFIX + digest, 1, timeout=interval):
        return False
    logger.warning(
        "Refused a request from %s to %s: the address is not on DANGO_IP_ALLOWLIST "
        "(further refusals of this address are not logged for %s s)",
        ip or "an unknown address",
        request.path[:200],
        interval,
    )
    ip_blocked.send(sender=IPAllowlistMiddleware, request=request, ip=ip, path=request.path)
    return True


def blocked_response(request, ip: str | None) -> HttpResponse:
    message = (
        f"Access from your address ({ip}) is not allowed on this site."
        if ip
        else "Access is not allowed: your address could not be determined."
    )
    if _expects_json(request):
        return JsonResponse({"error": {"code": "ip_blocked", "message": message}}, status=403)
    return HttpResponse(message + "\n", status=403, content_type="text/plain; charset=utf-8")


class IPAllowlistMiddleware:
    """Return 403 to clients outside DANGO_IP_ALLOWLIST and send ip_blocked.

    NOTE: it sits after WhiteNoise in MIDDLEWARE, so static files (public CSS
    and scripts) are still served to refused clients.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        allowlist = conf.get_ip_allowlist()
        if not allowlist or request.path_info in conf.get_allowlist_exempt_paths():
            return self.get_response(request)
        ip = get_client_ip(request)
        if is_ip_in_networks(ip, allowlist):
            return self.get_response(request)
        announce_blocked(request, ip)
        return blocked_response(request, ip)
