import ipaddress
import logging

import pytest
from axes.helpers import get_client_ip_address
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.test import RequestFactory, override_settings

from accounts.adapters import AccountAdapter
from hardening.client_ip import get_client_ip, normalize_ip, parse_forwarded_entry, resolve_client_ip
from hardening.cloudflare import CLOUDFLARE_IP_RANGES

LOCAL_PROXIES = [ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128")]
TWO_PROXIES = [*LOCAL_PROXIES, ipaddress.ip_network("10.0.0.0/8")]
CLOUDFLARE = [ipaddress.ip_network(value) for value in CLOUDFLARE_IP_RANGES]

CF_EDGE_V4 = "173.245.48.7"
CF_EDGE_V6 = "2606:4700::1111"
CLIENT = "203.0.113.9"
CLIENT_V6 = "2001:db8::9"
SPOOFED = "198.51.100.66"

# (case, mode, trusted proxies, REMOTE_ADDR, X-Forwarded-For, CF-Connecting-IP, expected client)
CASES = [
    # Direct mode: only the TCP peer counts.
    ("direct peer", "direct", [], CLIENT, None, None, CLIENT),
    ("direct ignores X-Forwarded-For", "direct", [], CLIENT, SPOOFED, None, CLIENT),
    ("direct ignores CF-Connecting-IP", "direct", [], CF_EDGE_V4, None, SPOOFED, CF_EDGE_V4),
    ("direct IPv6 peer", "direct", [], CLIENT_V6, None, None, CLIENT_V6),
    ("direct IPv6 canonical form", "direct", [], "2001:DB8:0:0::9", None, None, CLIENT_V6),
    ("direct IPv4-mapped peer", "direct", [], "::ffff:203.0.113.9", None, None, CLIENT),
    ("direct missing peer", "direct", [], None, None, None, None),
    ("direct junk peer", "direct", [], "not-an-ip", None, None, None),
    # Proxy mode: right-most untrusted address of X-Forwarded-For.
    ("proxy single hop", "proxy", LOCAL_PROXIES, "127.0.0.1", CLIENT, None, CLIENT),
    ("proxy spoofed entry left of real client", "proxy", LOCAL_PROXIES, "127.0.0.1", f"{SPOOFED}, {CLIENT}", None, CLIENT),
    ("proxy untrusted peer spoofing header", "proxy", LOCAL_PROXIES, CLIENT, SPOOFED, None, CLIENT),
    ("proxy untrusted peer spoofing trusted address", "proxy", LOCAL_PROXIES, CLIENT, "127.0.0.1", None, CLIENT),
    ("proxy two trusted hops", "proxy", TWO_PROXIES, "127.0.0.1", f"{SPOOFED}, {CLIENT}, 10.1.2.3", None, CLIENT),
    ("proxy untrusted middle hop stops the walk", "proxy", LOCAL_PROXIES, "127.0.0.1", f"{CLIENT}, 10.1.2.3", None, "10.1.2.3"),
    ("proxy every hop trusted", "proxy", TWO_PROXIES, "127.0.0.1", "10.0.0.5, 10.0.0.6", None, "10.0.0.5"),
    ("proxy header missing", "proxy", LOCAL_PROXIES, "127.0.0.1", None, None, "127.0.0.1"),
    ("proxy header empty", "proxy", LOCAL_PROXIES, "127.0.0.1", "", None, "127.0.0.1"),
    ("proxy IPv6 peer and client", "proxy", LOCAL_PROXIES, "::1", CLIENT_V6, None, CLIENT_V6),
    ("proxy IPv4-mapped peer is trusted", "proxy", LOCAL_PROXIES, "::ffff:127.0.0.1", CLIENT, None, CLIENT),
    ("proxy IPv4-mapped client", "proxy", LOCAL_PROXIES, "127.0.0.1", "::ffff:203.0.113.9", None, CLIENT),
    ("proxy bracketed IPv6 with port", "proxy", LOCAL_PROXIES, "127.0.0.1", "[2001:db8::9]:4711", None, CLIENT_V6),
    ("proxy IPv4 with port", "proxy", LOCAL_PROXIES, "127.0.0.1", "203.0.113.9:4711", None, CLIENT),
    ("proxy junk right-most entry", "proxy", LOCAL_PROXIES, "127.0.0.1", f"{CLIENT}, garbage", None, "127.0.0.1"),
    ("proxy junk left of client is never read", "proxy", LOCAL_PROXIES, "127.0.0.1", f"garbage, {CLIENT}", None, CLIENT),
    ("proxy unclosed bracket", "proxy", LOCAL_PROXIES, "127.0.0.1", "[2001:db8::9", None, "127.0.0.1"),
    ("proxy control characters", "proxy", LOCAL_PROXIES, "127.0.0.1", "203.0.113.9\x00\r\n", None, "127.0.0.1"),
    ("proxy non-ASCII", "proxy", LOCAL_PROXIES, "127.0.0.1", "２０３.0.113.9", None, "127.0.0.1"),
    ("proxy very long header", "proxy", LOCAL_PROXIES, "127.0.0.1", ",".join(["x"] * 5000) + f",{CLIENT}", None, CLIENT),
    ("proxy trailing comma", "proxy", LOCAL_PROXIES, "127.0.0.1", f"{CLIENT},", None, "127.0.0.1"),
    ("proxy without trusted proxies acts as direct", "proxy", [], "127.0.0.1", CLIENT, None, "127.0.0.1"),
    # Cloudflare mode: CF-Connecting-IP only from Cloudflare's edge.
    ("cloudflare edge peer", "cloudflare", [], CF_EDGE_V4, None, CLIENT, CLIENT),
    ("cloudflare IPv6 edge peer", "cloudflare", [], CF_EDGE_V6, None, CLIENT_V6, CLIENT_V6),
    ("cloudflare header from non-Cloudflare peer", "cloudflare", [], SPOOFED, None, CLIENT, SPOOFED),
    ("cloudflare edge behind local proxy", "cloudflare", LOCAL_PROXIES, "127.0.0.1", CF_EDGE_V4, CLIENT, CLIENT),
    ("cloudflare spoofed chain behind local proxy", "cloudflare", LOCAL_PROXIES, "127.0.0.1", f"{CF_EDGE_V4}, {SPOOFED}", CLIENT, SPOOFED),
    ("cloudflare direct client behind local proxy", "cloudflare", LOCAL_PROXIES, "127.0.0.1", SPOOFED, CLIENT, SPOOFED),
    ("cloudflare edge without header", "cloudflare", [], CF_EDGE_V4, None, None, CF_EDGE_V4),
    ("cloudflare edge with junk header", "cloudflare", [], CF_EDGE_V4, None, "junk", CF_EDGE_V4),
    ("cloudflare IPv4-mapped edge peer", "cloudflare", [], "::ffff:173.245.48.7", None, CLIENT, CLIENT),
    ("cloudflare IPv4-mapped client header", "cloudflare", [], CF_EDGE_V4, None, "::ffff:203.0.113.9", CLIENT),
]


@pytest.mark.parametrize(
    "mode,trusted,peer,forwarded_for,cf_client,expected",
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_resolve_client_ip(mode, trusted, peer, forwarded_for, cf_client, expected):
    """The client address follows the mode's rules for every peer and header combination."""
    result = resolve_client_ip(
        peer, forwarded_for, cf_client, mode=mode, trusted_proxies=trusted, cloudflare_networks=CLOUDFLARE
    )
    assert result == expected


def _request(remote_addr="127.0.0.1", **headers):
    request = RequestFactory().get("/", REMOTE_ADDR=remote_addr, **headers)
    return request


@pytest.mark.parametrize(
    "case",
    [
        {"settings": {}, "peer": CLIENT, "headers": {"HTTP_X_FORWARDED_FOR": SPOOFED}, "expected": CLIENT},
        {
            "settings": {"DANGO_CLIENT_IP_MODE": "proxy", "DANGO_TRUSTED_PROXIES": ["127.0.0.1/32"]},
            "peer": "127.0.0.1",
            "headers": {"HTTP_X_FORWARDED_FOR": f"{SPOOFED}, {CLIENT}"},
            "expected": CLIENT,
        },
        {
            "settings": {"DANGO_CLIENT_IP_MODE": "cloudflare", "DANGO_TRUSTED_PROXIES": ["127.0.0.1/32"]},
            "peer": "127.0.0.1",
            "headers": {"HTTP_X_FORWARDED_FOR": CF_EDGE_V4, "HTTP_CF_CONNECTING_IP": CLIENT},
            "expected": CLIENT,
        },
        {
            "settings": {"DANGO_CLIENT_IP_MODE": "cloudflare", "DANGO_CLOUDFLARE_IP_RANGES": ["192.0.2.0/24"]},
            "peer": CF_EDGE_V4,
            "headers": {"HTTP_CF_CONNECTING_IP": CLIENT},
            "expected": CF_EDGE_V4,
        },
        {
            "settings": {"DANGO_CLIENT_IP_MODE": "cloudflare", "DANGO_CLOUDFLARE_IP_RANGES": ["192.0.2.0/24"]},
            "peer": "192.0.2.10",
            "headers": {"HTTP_CF_CONNECTING_IP": CLIENT},
            "expected": CLIENT,
        },
    ],
    ids=["direct", "proxy", "cloudflare behind proxy", "cloudflare override excludes shipped", "cloudflare override"],
)
def test_get_client_ip_reads_settings(case):
    """get_client_ip applies the mode, proxies and Cloudflare ranges from settings."""
    with override_settings(**case["settings"]):
        request = _request(case["peer"], **case["headers"])
        assert get_client_ip(request) == case["expected"]


def test_get_client_ip_caches_on_request():
    """The address is computed once per request, so every app gets the same one."""
    request = _request(CLIENT)
    assert get_client_ip(request) == CLIENT
    request.META["REMOTE_ADDR"] = SPOOFED
    assert get_client_ip(request) == CLIENT


def test_get_client_ip_unknown_is_cached_as_none():
    """A request without a usable peer address has no client IP, also on the second call."""
    request = _request("garbage")
    assert get_client_ip(request) is None
    assert get_client_ip(request) is None


def test_get_client_ip_without_request():
    """None (no request, as in a management command) has no client IP."""
    assert get_client_ip(None) is None


@override_settings(DANGO_CLIENT_IP_MODE="proxy", DANGO_TRUSTED_PROXIES=["127.0.0.1/32"])
def test_junk_from_trusted_proxy_is_logged(caplog):
    """An entry a trusted proxy wrote that is not an address logs a warning naming the proxy."""
    with caplog.at_level(logging.WARNING, logger="hardening"):
        assert get_client_ip(_request("127.0.0.1", HTTP_X_FORWARDED_FOR="bogus")) == "127.0.0.1"
    assert "trusted proxy 127.0.0.1" in caplog.text
    assert "'bogus'" in caplog.text


@override_settings(DANGO_CLIENT_IP_MODE="sideways")
def test_invalid_mode_raises():
    """An unknown mode raises ImproperlyConfigured naming the setting and the valid modes."""
    with pytest.raises(ImproperlyConfigured, match="DANGO_CLIENT_IP_MODE='sideways'.*direct, proxy, cloudflare"):
        get_client_ip(_request())


@override_settings(DANGO_CLIENT_IP_MODE="proxy", DANGO_TRUSTED_PROXIES=["127.0.0.1/32", "10.0.0.0/33"])
def test_invalid_trusted_proxy_raises():
    """A malformed proxy network raises ImproperlyConfigured naming the setting and the value."""
    with pytest.raises(ImproperlyConfigured, match=r"DANGO_TRUSTED_PROXIES: '10.0.0.0/33' is not an IP address"):
        get_client_ip(_request())


@pytest.mark.parametrize(
    "value,expected",
    [
        ("203.0.113.9", CLIENT),
        (" 203.0.113.9 ", CLIENT),
        ("::ffff:203.0.113.9", CLIENT),
        ("2001:0db8::0009", CLIENT_V6),
        ("", None),
        (None, None),
        ("203.0.113.999", None),
        ("1.2.3", None),
        (b"203.0.113.9", None),
    ],
)
def test_normalize_ip(value, expected):
    """normalize_ip returns the canonical address or None, never raising."""
    assert normalize_ip(value) == expected


@pytest.mark.parametrize(
    "entry,expected",
    [
        ("203.0.113.9", CLIENT),
        ("203.0.113.9:443", CLIENT),
        ("[2001:db8::9]", CLIENT_V6),
        ("[2001:db8::9]:443", CLIENT_V6),
        ("2001:db8::9", CLIENT_V6),
        ("unknown", None),
        ("[", None),
        ("203.0.113.9:443:1", None),
        ("_hidden", None),
    ],
)
def test_parse_forwarded_entry(entry, expected):
    """One X-Forwarded-For entry yields its address with or without a port, or None."""
    assert parse_forwarded_entry(entry) == expected


@override_settings(DANGO_CLIENT_IP_MODE="proxy", DANGO_TRUSTED_PROXIES=["127.0.0.1/32"])
def test_axes_uses_project_client_ip():
    """django-axes keys its lockouts on the address from get_client_ip."""
    request = _request("127.0.0.1", HTTP_X_FORWARDED_FOR=f"{SPOOFED}, {CLIENT}")
    assert get_client_ip_address(request) == CLIENT


@override_settings(DANGO_CLIENT_IP_MODE="cloudflare")
def test_allauth_adapter_uses_project_client_ip():
    """allauth's rate limits key on the address from get_client_ip."""
    request = _request(CF_EDGE_V4, HTTP_CF_CONNECTING_IP=CLIENT)
    assert AccountAdapter(request).get_client_ip(request) == CLIENT


def test_allauth_adapter_denies_unknown_ip():
    """Without a client IP, allauth's adapter denies the request instead of skipping its rate limits."""
    request = _request("garbage")
    with pytest.raises(PermissionDenied):
        AccountAdapter(request).get_client_ip(request)
