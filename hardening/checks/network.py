"""Checks that the client IP, proxy and allowlist settings agree with each other.

A contradiction here crashes nothing. It silently turns the allowlist, the
lockout or the audit log's IPs into something other than what the operator
meant, so these checks run with ``check --deploy``.
"""

import datetime
import ipaddress

from django.core.checks import Error, Tags, register
from django.core.checks import Warning as CheckWarning
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from hardening import conf
from hardening.cloudflare import CLOUDFLARE_IP_RANGES_DATE

E130 = "dango.E130"
E131 = "dango.E131"
W132 = "dango.W132"
E133 = "dango.E133"
W134 = "dango.W134"
W135 = "dango.W135"
E136 = "dango.E136"
W137 = "dango.W137"
W138 = "dango.W138"
E139 = "dango.E139"
W140 = "dango.W140"

CLOUDFLARE_RANGES_MAX_AGE = datetime.timedelta(days=365)
LOOPBACK_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def _overlapping(networks, others) -> list[str]:
    return [
        str(network)
        for network in networks
        if any(network.version == other.version and network.overlaps(other) for other in others)
    ]




class _Settings:
    """The parsed client IP settings, or the error that parsing them raised."""

    def __init__(self):
        self.error = None
        try:
            self.mode = conf.get_client_ip_mode()
            self.trusted = conf.get_trusted_proxies()
            self.cloudflare = conf.get_cloudflare_networks()
            self.allowlist = conf.get_ip_allowlist()
            self.exempt_paths = conf.get_allowlist_exempt_paths()
        except ImproperlyConfigured as error:
            self.error = error


@register(Tags.security, deploy=True)
def check_proxy_settings(app_configs, **kwargs) -> list:
    current = _Settings()
    if current.error:
        return [Error(str(current.error), hint="Correct the setting named above.", id=E130)]
    mode, trusted = current.mode, current.trusted

    messages = []
    if mode == conf.PROXY and not trusted:
        messages.append(
            Error(
                "DANGO_CLIENT_IP_MODE is 'proxy' but DANGO_TRUSTED_PROXIES is empty, so X-Forwarded-For is never "
                "read and every client appears with the proxy's address: one lockout or ban hits everyone.",
                hint="List the reverse proxy's address in DANGO_TRUSTED_PROXIES, such as 127.0.0.1/32,::1/128.",
                id=E131,
            )
        )
    if mode == conf.DIRECT and trusted:
        messages.append(
            CheckWarning(
                "DANGO_TRUSTED_PROXIES is set but DANGO_CLIENT_IP_MODE is 'direct', so the proxies are ignored "
                "and every client behind them appears with the proxy's address.",
                hint="Set DANGO_CLIENT_IP_MODE=proxy (or cloudflare), or empty DANGO_TRUSTED_PROXIES.",
                id=W132,
            )
        )
    catch_all = [str(network) for network in trusted if network.prefixlen == 0]
    if catch_all and mode != conf.DIRECT:
        messages.append(
            Error(
                f"DANGO_TRUSTED_PROXIES contains {', '.join(catch_all)}, which trusts every address: any client "
                "can then choose its IP by sending X-Forwarded-For.",
                hint="List only the addresses of your own reverse proxies.",
                id=E133,
            )
        )
    return messages


@register(Tags.security, deploy=True)
def check_allowlist_settings(app_configs, **kwargs) -> list:
    current = _Settings()
    if current.error:
        # check_proxy_settings reports it.
        return []
    mode, allowlist = current.mode, current.allowlist

    messages = []
    if allowlist and mode != conf.DIRECT:
        covered = _overlapping(allowlist, current.trusted)
        if covered:
            messages.append(
                CheckWarning(
                    f"DANGO_IP_ALLOWLIST entries {', '.join(covered)} cover a trusted proxy: a request that reaches "
                    "the site through the proxy without X-Forwarded-For passes the allowlist as the proxy.",
                    hint="Remove the proxy's addresses from DANGO_IP_ALLOWLIST.",
                    id=W134,
                )
            )
    if allowlist and mode == conf.DIRECT:
        loopback = _overlapping(allowlist, LOOPBACK_NETWORKS)
        if loopback:
            messages.append(
                CheckWarning(
                    f"DANGO_IP_ALLOWLIST allows the loopback network ({', '.join(loopback)}) in 'direct' mode: behind "
                    "a reverse proxy on this host every request comes from loopback and passes the allowlist.",
                    hint="Behind a local proxy set DANGO_CLIENT_IP_MODE=proxy and remove loopback from the allowlist.",
                    id=W135,
                )
            )
    if allowlist and mode == conf.CLOUDFLARE:
        covered = _overlapping(allowlist, current.cloudflare)
        if covered:
            messages.append(
                CheckWarning(
                    f"DANGO_IP_ALLOWLIST entries {', '.join(covered)} cover Cloudflare's edge addresses, which every "
                    "Cloudflare customer's traffic can come from.",
                    hint="List your team's own networks in DANGO_IP_ALLOWLIST, not Cloudflare's.",
                    id=W138,
                )
            )
    for path in sorted(current.exempt_paths, key=str):
        if not isinstance(path, str) or not path.startswith("/"):
            messages.append(
                Error(
                    f"DANGO_IP_ALLOWLIST_EXEMPT_PATHS contains {path!r}, which never matches: request paths start "
                    "with '/'.",
                    hint="Write the full path, such as '/healthz'.",
                    id=E139,
                )
            )
    return messages


@register(Tags.security, deploy=True)
def check_cloudflare_settings(app_configs, **kwargs) -> list:
    current = _Settings()
    if current.error:
        # check_proxy_settings reports it.
        return []
    mode = current.mode
    overridden = conf.is_cloudflare_ranges_overridden()

    messages = []
    if mode == conf.CLOUDFLARE and not current.cloudflare:
        messages.append(
            Error(
                "DANGO_CLIENT_IP_MODE is 'cloudflare' but DANGO_CLOUDFLARE_IP_RANGES is empty, so "
                "CF-Connecting-IP is never trusted and every client appears with a Cloudflare address.",
                hint="Remove DANGO_CLOUDFLARE_IP_RANGES to use the shipped ranges, or list Cloudflare's ranges in it.",
                id=E136,
            )
        )
    if mode != conf.CLOUDFLARE and overridden:
        messages.append(
            CheckWarning(
                f"DANGO_CLOUDFLARE_IP_RANGES is set but DANGO_CLIENT_IP_MODE is {mode!r}, so it is ignored.",
                hint="Set DANGO_CLIENT_IP_MODE=cloudflare if the site is behind Cloudflare, or remove the setting.",
                id=W137,
            )
        )
    age = timezone.now().date() - CLOUDFLARE_IP_RANGES_DATE
    if mode == conf.CLOUDFLARE and not overridden and age > CLOUDFLARE_RANGES_MAX_AGE:
        messages.append(
            CheckWarning(
                f"The shipped Cloudflare address ranges date from {CLOUDFLARE_IP_RANGES_DATE.isoformat()}, "
                f"{age.days} days ago; a range Cloudflare added since then is not trusted.",
                hint=(
                    "Compare them with https://www.cloudflare.com/ips/ and, if they differ, list the current ranges "
                    "in DANGO_CLOUDFLARE_IP_RANGES."
                ),
                id=W140,
            )
        )
    return messages
