"""The client IP address of a request: the one function every app uses.

DANGO_CLIENT_IP_MODE selects how the address is found:

- ``direct``: the TCP peer (REMOTE_ADDR). Forwarding headers are ignored.
- ``proxy``: the site sits behind reverse proxies listed in
  DANGO_TRUSTED_PROXIES. The walk starts at the peer. While the current hop
  is a trusted proxy, it is replaced by the address that proxy appended to
  X-Forwarded-For (the right-most entry not yet read). The first untrusted
  address is the client. Entries left of it were written by the client or its
  own proxies and are never read, so a client cannot choose its address by
  sending the header.
- ``cloudflare``: as ``proxy``, and when the hop found that way is one of
  Cloudflare's edge addresses, the client is the address in CF-Connecting-IP.
  From any other hop that header is ignored.

Garbage in a header never raises: an entry that is not an IP address ends
the walk at the last address that was trusted.
"""

import ipaddress
import logging

from hardening import conf

logger = logging.getLogger("hardening")

FORWARDED_FOR_HEADER = "HTTP_X_FORWARDED_FOR"
CLOUDFLARE_CLIENT_HEADER = "HTTP_CF_CONNECTING_IP"


def normalize_ip(value: str | None) -> str | None:
    """Return ``value`` as a canonical IP string, or None when it is not an IP.

    IPv4-mapped IPv6 addresses (``::ffff:192.0.2.1``) become plain IPv4, so a
    client is counted under one key whichever socket family it arrived on.
    """
    if not value or not isinstance(value, str):
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address)


def parse_forwarded_entry(entry: str) -> str | None:
    """Return the address in one X-Forwarded-For entry, or None when it contains none.

    Besides a bare address, accept the forms some proxies write with a port:
    ``203.0.113.9:4711``, ``[2001:db8::1]`` and ``[2001:db8::1]:4711``.
    """
    text = entry.strip()
    if text.startswith("["):
        closing = text.find("]")
        if closing == -1:
            return None
        return normalize_ip(text[1:closing])
    if text.count(":") == 1:
        # One colon cannot be IPv6 (which needs at least two), so it is IPv4:port.
        text = text.split(":", 1)[0]
    return normalize_ip(text)


def is_ip_in_networks(ip: str | None, networks) -> bool:
    if ip is None:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in networks)


def _nearest_untrusted_hop(peer: str, forwarded_for: str | None, trusted_proxies) -> str:
    """Walk X-Forwarded-For from the right while the current hop is a trusted proxy."""
    current = peer
    if not is_ip_in_networks(current, trusted_proxies):
        return current
    for entry in reversed((forwarded_for or "").split(",")):
        address = parse_forwarded_entry(entry)
        if address is None:
            if entry.strip():
                # A trusted proxy wrote this entry, so it should be an address.
                # Stopping here keys the request to that proxy instead of
                # trusting whatever lies further left.
                logger.warning(
                    "X-Forwarded-For entry %r from trusted proxy %s is not an IP address; "
                    "check that proxy's configuration",
                    entry.strip()[:64],
                    current,
                )
            return current
        current = address
        if not is_ip_in_networks(current, trusted_proxies):
            return current
    # Every hop is a trusted proxy: the left-most one is the furthest known.
    return current


def resolve_client_ip(
    remote_addr: str | None,
    forwarded_for: str | None = None,
    cloudflare_client: str | None = None,
    *,
    mode: str = conf.DIRECT,
    trusted_proxies=(),
    cloudflare_networks=(),
) -> str | None:
    """Return the client address for the given peer and headers under ``mode``.

    This is get_client_ip without the request and settings, for callers that
    have the raw values and for tests.
    """
    peer = normalize_ip(remote_addr)
    if peer is None or mode == conf.DIRECT:
        return peer
    hop = _nearest_untrusted_hop(peer, forwarded_for, trusted_proxies)
    if mode == conf.CLOUDFLARE and is_ip_in_networks(hop, cloudflare_networks):
        client = normalize_ip(cloudflare_client)
        if client is not None:
            return client
        if cloudflare_client:
            logger.warning("CF-Connecting-IP %r from Cloudflare address %s is not an IP address", cloudflare_client[:64], hop)
    return hop


def get_client_ip(request) -> str | None:
    """Return the client IP of ``request`` under the configured mode, or None when unknown.

    The result is cached on the request, so every app gets the same address.
    """
    if request is None:
        return None
    cached = getattr(request, "_dango_client_ip", None)
    if cached is not None:
        return cached or None
    meta = request.META
    mode = conf.get_client_ip_mode()
    ip = resolve_client_ip(
        meta.get("REMOTE_ADDR"),
        meta.get(FORWARDED_FOR_HEADER),
        meta.get(CLOUDFLARE_CLIENT_HEADER),
        mode=mode,
        trusted_proxies=conf.get_trusted_proxies() if mode != conf.DIRECT else (),
        cloudflare_networks=conf.get_cloudflare_networks() if mode == conf.CLOUDFLARE else (),
    )
    request._dango_client_ip = ip or ""
    return ip
