"""The client IP address of a request: the one function every app uses.

NOTE: only direct mode (the TCP peer, REMOTE_ADDR) is implemented so far;
trusted-proxy and Cloudflare modes are still to come, so behind a proxy every
client currently shows the proxy's address.
"""

import ipaddress


def normalize_ip(value: str | None) -> str | None:
    """Return ``value`` as a canonical IP string, or None when it is not an IP.

    IPv4-mapped IPv6 addresses (``::ffff:192.0.2.1``) become plain IPv4, so a
    client is counted under one key whichever socket family it arrived on.
    """
    if not value:
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address)


def get_client_ip(request) -> str | None:
    cached = getattr(request, "_dango_client_ip", None)
    if cached is not None:
        return cached or None
    ip = normalize_ip(request.META.get("REMOTE_ADDR"))
    request._dango_client_ip = ip or ""
    return ip
