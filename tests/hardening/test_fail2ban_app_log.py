"""The rendered fail2ban filter against an audit log written by the app itself."""

import io
import subprocess

import pytest
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-Horse-42"


def sign_in(client, email, password, ip):
    return client.post("/accounts/login/", {"login": email, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.tools("fail2ban-regex")
def test_filter_bans_failures_from_real_requests(client, make_user, audit_log, tmp_path, host_tool):
    """Every failure the app records is matched with its client IP; no other record matches."""
    make_user("ana@example.com", PASSWORD)
    make_user("ben@example.com", PASSWORD)

    sign_in(client, "ana@example.com", "Wrong-Password-1", "203.0.113.9")
    sign_in(client, "nobody@example.com", "Wrong-Password-2", "2001:db8::5")
    sign_in(client, "ben@example.com", PASSWORD, "203.0.113.10")
    client.post("/accounts/logout/", REMOTE_ADDR="203.0.113.10")
    for attempt in range(5):
        sign_in(client, "ana@example.com", f"Wrong-Password-{attempt}", "198.51.100.7")
    # A fresh client: a Bearer request that also carries a session cookie is rejected before the key is read.
    Client().get("/api/me", HTTP_AUTHORIZATION="Bearer dango_ak_" + "x" * 43, REMOTE_ADDR="203.0.113.12")
    client.get("/", REMOTE_ADDR="203.0.113.13")

    records = audit_log.records()
    failure_events = {"login_failure", "account_locked", "api_key_rejected", "two_fa_failure"}
    expected = [record["ip"] for record in records if record["event"] in failure_events]
    assert {record["event"] for record in records} >= {"login_failure", "account_locked", "api_key_rejected",
                                                       "login_success", "logout"}
    assert len(expected) == 9

    out = tmp_path / "rendered"
    call_command("hardening", "render", "--domain", "dango.example.com", "--out", str(out), stdout=io.StringIO())
    result = subprocess.run(
        [host_tool("fail2ban-regex"), "-o", "ip", str(audit_log.path), str(out / "etc/fail2ban/filter.d/dango-audit.conf")],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == expected
