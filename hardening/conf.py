"""Settings of the hardening app, read and validated in one place.

Network lists are parsed once per distinct value and cached, so a request
only pays for a cache lookup. An invalid value raises ImproperlyConfigured
naming the setting; HardeningConfig.ready calls validate_settings() so that
such a value stops the site at start-up instead of failing requests.
"""

import ipaddress
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from hardening.cloudflare import CLOUDFLARE_IP_RANGES

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

DIRECT = "direct"
PROXY = "proxy"
CLOUDFLARE = "cloudflare"
CLIENT_IP_MODES = (DIRECT, PROXY, CLOUDFLARE)

DEFAULT_IP_BLOCKED_EVENT_INTERVAL = 60

# Browser features the site never uses; an empty list disables the feature for
# the page and every frame in it.
DEFAULT_PERMISSIONS_POLICY: dict[str, list[str]] = {
    "accelerometer": [],
    "camera": [],
    "display-capture": [],
    "geolocation": [],
    "gyroscope": [],
    "hid": [],
    "magnetometer": [],
    "microphone": [],
    "midi": [],
    "payment": [],
    "serial": [],
    "usb": [],
}

_FEATURE_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")


def parse_network(value: str) -> IPNetwork:
    """Parse one CIDR (``203.0.113.0/24``) or single address into a network.

    Host bits are allowed (``10.1.2.3/8`` means ``10.0.0.0/8``), because an
    operator who writes that means the network. Raises ValueError otherwise.
    """
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a string")
    text = value.strip()
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise ValueError(
            f"{value!r} is not an IP address or network; use CIDR notation such as "
            "203.0.113.0/24 or 2001:db8::/32"
        ) from None


@lru_cache(maxsize=64)
def _parse_network_list(setting_name: str, values: tuple) -> tuple[IPNetwork, ...]:
    networks = []
    for value in values:
        try:
            networks.append(parse_network(value))
        except ValueError as error:
            raise ImproperlyConfigured(f"{setting_name}: {error}.") from None
    return tuple(networks)


def _network_setting(name: str, default: Any = ()) -> tuple[IPNetwork, ...]:
    values = getattr(settings, name, default)
    if values is None:
        values = default
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        raise ImproperlyConfigured(
            f"{name} must be a list of CIDR strings such as ['203.0.113.0/24'], not {values!r}."
        )
    return _parse_network_list(name, tuple(values))


def get_client_ip_mode() -> str:
    mode = getattr(settings, "DANGO_CLIENT_IP_MODE", DIRECT)
    if mode not in CLIENT_IP_MODES:
        raise ImproperlyConfigured(
            f"DANGO_CLIENT_IP_MODE={mode!r} is not a client IP mode. Use one of: {', '.join(CLIENT_IP_MODES)}."
        )
    return mode


def get_trusted_proxies() -> tuple[IPNetwork, ...]:
    return _network_setting("DANGO_TRUSTED_PROXIES")


def is_cloudflare_ranges_overridden() -> bool:
    return getattr(settings, "DANGO_CLOUDFLARE_IP_RANGES", None) is not None


def get_cloudflare_networks() -> tuple[IPNetwork, ...]:
    """Return DANGO_CLOUDFLARE_IP_RANGES, or the ranges shipped in hardening.cloudflare when it is None."""
    if not is_cloudflare_ranges_overridden():
        return _parse_network_list("hardening.cloudflare.CLOUDFLARE_IP_RANGES", CLOUDFLARE_IP_RANGES)
    return _network_setting("DANGO_CLOUDFLARE_IP_RANGES")


def get_ip_allowlist() -> tuple[IPNetwork, ...]:
    """Return the networks allowed to reach the site; empty means the allowlist is off."""
    return _network_setting("DANGO_IP_ALLOWLIST")


def get_allowlist_exempt_paths() -> frozenset[str]:
    paths = getattr(settings, "DANGO_IP_ALLOWLIST_EXEMPT_PATHS", ())
    if isinstance(paths, str) or not isinstance(paths, (list, tuple, set, frozenset)):
        raise ImproperlyConfigured(
            f"DANGO_IP_ALLOWLIST_EXEMPT_PATHS must be a list of URL paths such as ['/healthz'], not {paths!r}."
        )
    return frozenset(paths)


def get_ip_blocked_event_interval() -> int:
    interval = getattr(settings, "DANGO_IP_BLOCKED_EVENT_INTERVAL", DEFAULT_IP_BLOCKED_EVENT_INTERVAL)
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
        raise ImproperlyConfigured(
            f"DANGO_IP_BLOCKED_EVENT_INTERVAL={interval!r} is not a whole number of seconds of at least 1."
        )
    return interval


@lru_cache(maxsize=16)
def _serialize_permissions_policy(items: tuple) -> str:
    directives = []
    for feature, allowlist in items:
        if not isinstance(feature, str) or not _FEATURE_NAME.match(feature):
            raise ImproperlyConfigured(
                f"DANGO_PERMISSIONS_POLICY has the feature name {feature!r}; use a name such as 'camera'."
            )
        members = []
        for entry in allowlist:
            if entry in ("self", "*"):
                members.append(entry)
            elif isinstance(entry, str) and _ORIGIN.match(entry):
                members.append(f'"{entry}"')
            else:
                raise ImproperlyConfigured(
                    f"DANGO_PERMISSIONS_POLICY[{feature!r}] contains {entry!r}; use 'self', '*' "
                    "or an origin such as 'https://example.com'."
                )
        directives.append(f"{feature}=({' '.join(members)})")
    return ", ".join(directives)


def get_permissions_policy() -> str:
    """Return the Permissions-Policy header value built from DANGO_PERMISSIONS_POLICY."""
    policy = getattr(settings, "DANGO_PERMISSIONS_POLICY", DEFAULT_PERMISSIONS_POLICY)
    if not isinstance(policy, dict):
        raise ImproperlyConfigured(
            f"DANGO_PERMISSIONS_POLICY must be a dict of feature name to allowlist, not {policy!r}."
        )
    items = []
    for feature, allowlist in policy.items():
        if isinstance(allowlist, str) or not isinstance(allowlist, (list, tuple)):
            raise ImproperlyConfigured(
                f"DANGO_PERMISSIONS_POLICY[{feature!r}] must be a list such as [] or ['self'], not {allowlist!r}."
            )
        items.append((feature, tuple(allowlist)))
    return _serialize_permissions_policy(tuple(items))


def get_project_root() -> Path | None:
    """Return the deployment's project folder (``.dango/``, ``.dlt/``), or None outside Dango."""
    root = getattr(settings, "PROJECT_ROOT", None)
    return Path(root) if root else None


def validate_settings() -> None:
    """Parse every hardening setting, raising ImproperlyConfigured on the first invalid one."""
    get_client_ip_mode()
    get_trusted_proxies()
    get_cloudflare_networks()
    get_ip_allowlist()
    get_allowlist_exempt_paths()
    get_ip_blocked_event_interval()
    get_permissions_policy()
