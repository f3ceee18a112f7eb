import datetime
import logging

import pytest
import time_machine
from django.test import override_settings

from hardening.signals import ip_blocked

pytestmark = pytest.mark.django_db

OFFICE = "198.51.100.0/24"
INSIDE = "198.51.100.20"
OUTSIDE = "203.0.113.9"
OUTSIDE_OTHER = "203.0.113.10"


@pytest.fixture
def blocked_events():
    events = []

    def receiver(sender, request, ip, path, **kwargs):
        events.append({"ip": ip, "path": path, "request_id": getattr(request, "request_id", None)})

    ip_blocked.connect(receiver, dispatch_uid="test_allowlist.receiver")
    yield events
    ip_blocked.disconnect(dispatch_uid="test_allowlist.receiver")


@override_settings(DANGO_IP_ALLOWLIST=[OFFICE])
def test_client_outside_allowlist_gets_403(client, blocked_events):
    """A client outside the allowlist gets 403 with its address in the message and one ip_blocked event."""
    response = client.get("/accounts/login/", REMOTE_ADDR=OUTSIDE)
    assert response.status_code == 403
    assert OUTSIDE in response.content.decode()
    assert response["Content-Type"].startswith("text/plain")
    assert blocked_events == [{"ip": OUTSIDE, "path": "/accounts/login/", "request_id": response["X-Request-ID"]}]


@override_settings(DANGO_IP_ALLOWLIST=[OFFICE])
def test_client_inside_allowlist_is_served(client, blocked_events):
    """A client inside the allowlist reaches the page and no event is sent."""
    response = client.get("/accounts/login/", REMOTE_ADDR=INSIDE)
    assert response.status_code == 200
    assert blocked_events == []


@override_settings(DANGO_IP_ALLOWLIST=["2001:db8:1::/48"])
def test_ipv6_allowlist(client, blocked_events):
    """IPv6 networks work in the allowlist, and an IPv4 client is outside an IPv6-only list."""
    assert client.get("/accounts/login/", REMOTE_ADDR="2001:db8:1::5").status_code == 200
    assert client.get("/accounts/login/", REMOTE_ADDR=INSIDE).status_code == 403


def test_empty_allowlist_lets_everyone_in(client, blocked_events):
    """With no allowlist configured every client is served."""
    assert client.get("/accounts/login/", REMOTE_ADDR=OUTSIDE).status_code == 200
    assert blocked_events == []


@override_settings(
    DANGO_IP_ALLOWLIST=[OFFICE],
    DANGO_CLIENT_IP_MODE="proxy",
    DANGO_TRUSTED_PROXIES=["127.0.0.1/32"],
)
def test_allowlist_uses_resolved_client_ip(client, blocked_events):
    """Behind a trusted proxy the allowlist judges the forwarded client, and a spoofed entry does not help."""
    inside = client.get("/accounts/login/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=INSIDE)
    spoofed = client.get("/accounts/login/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"{INSIDE}, {OUTSIDE}")
    assert inside.status_code == 200
    assert spoofed.status_code == 403
    assert [event["ip"] for event in blocked_events] == [OUTSIDE]


@override_settings(DANGO_IP_ALLOWLIST=[OFFICE])
def test_unknown_client_ip_is_blocked(client, blocked_events):
    """A request whose client IP cannot be determined is refused."""
    response = client.get("/accounts/login/", REMOTE_ADDR="not-an-address")
    assert response.status_code == 403
    assert "could not be determined" in response.content.decode()
    assert blocked_events[0]["ip"] is None


@override_settings(DANGO_IP_ALLOWLIST=[OFFICE])
def test_json_client_gets_json_error(client, blocked_events):
    """A client asking for JSON gets a JSON error with the code ip_blocked."""
    response = client.get("/accounts/login/", REMOTE_ADDR=OUTSIDE, HTTP_ACCEPT="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "ip_blocked"


@override_settings(DANGO_IP_ALLOWLIST=[OFFICE], DANGO_IP_ALLOWLIST_EXEMPT_PATHS=["/accounts/login/"])
def test_exempt_path_is_served_to_everyone(client, blocked_events):
    """An exempt path is served outside the allowlist; other paths stay blocked."""
    assert client.get("/accounts/login/", REMOTE_ADDR=OUTSIDE).status_code == 200
    assert client.get("/accounts/password/reset/", REMOTE_ADDR=OUTSIDE).status_code == 403
    assert [event["path"] for event in blocked_events] == ["/accounts/password/reset/"]


@override_settings(DANGO_IP_ALLOWLIST=[OFFICE], DANGO_IP_ALLOWLIST_EXEMPT_PATHS=["/accounts/login/"])
def test_exempt_path_matches_exactly(client, blocked_events):
    """Exemption is by exact path: a longer path under it is still blocked."""
    assert client.get("/accounts/login/extra", REMOTE_ADDR=OUTSIDE).status_code == 403


# The local-memory cache reads the clock time_machine moves; Redis expires keys on its own clock.
LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "allowlist-test"}}


@override_settings(DANGO_IP_ALLOWLIST=[OFFICE], DANGO_IP_BLOCKED_EVENT_INTERVAL=60, CACHES=LOCAL_CACHE)
def test_ip_blocked_event_is_rate_limited_per_ip(client, blocked_events, caplog):
    """A scan from one address sends one event per interval; another address gets its own event."""
    start = datetime.datetime(2026, 12, 4, 12, 0, tzinfo=datetime.timezone.utc)
    with caplog.at_level(logging.WARNING, logger="hardening"), time_machine.travel(start, tick=False) as traveller:
        for number in range(20):
            assert client.get(f"/scan/{number}", REMOTE_ADDR=OUTSIDE).status_code == 403
        assert [event["ip"] for event in blocked_events] == [OUTSIDE]

        client.get("/scan/other", REMOTE_ADDR=OUTSIDE_OTHER)
        assert [event["ip"] for event in blocked_events] == [OUTSIDE, OUTSIDE_OTHER]

        traveller.shift(59)
        client.get("/scan/again", REMOTE_ADDR=OUTSIDE)
        assert len(blocked_events) == 2

        traveller.shift(2)
        client.get("/scan/later", REMOTE_ADDR=OUTSIDE)
        assert [event["path"] for event in blocked_events] == ["/scan/0", "/scan/other", "/scan/later"]
    assert caplog.text.count("not on DANGO_IP_ALLOWLIST") == 3


@override_settings(DANGO_IP_ALLOWLIST=[OFFICE])
def test_blocked_response_carries_security_headers(client, blocked_events):
    """The 403 for a blocked client still carries the security headers."""
    response = client.get("/", REMOTE_ADDR=OUTSIDE)
    assert response.status_code == 403
    assert "Content-Security-Policy" in response
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Permissions-Policy" in response


@pytest.mark.redis
@override_settings(DANGO_IP_ALLOWLIST=[OFFICE])
def test_ip_blocked_limit_is_shared_through_redis(client, blocked_events):
    """With Redis as the cache, the once-per-interval gate applies across clients sharing it."""
    from django.core.cache import cache
    from django.test import Client

    cache.clear()
    client.get("/first", REMOTE_ADDR=OUTSIDE)
    Client().get("/second", REMOTE_ADDR=OUTSIDE)
    assert [event["path"] for event in blocked_events] == ["/first"]


def test_ip_blocked_reaches_audit_log(client, settings, audit_log):
    """A blocked request is recorded once as ip_blocked with the client's address and the path."""
    settings.DANGO_IP_ALLOWLIST = ["192.0.2.0/24"]
    for _ in range(3):
        assert client.get("/accounts/login/", REMOTE_ADDR="203.0.113.50").status_code == 403
    records = audit_log.records("ip_blocked")
    assert len(records) == 1
    assert records[0]["ip"] == "203.0.113.50"
    assert records[0]["target"] == {"type": "path", "path": "/accounts/login/"}
    assert records[0]["actor"] is None
