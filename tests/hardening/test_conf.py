import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from hardening import conf

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "environment,message",
    [
        ({"DANGO_CLIENT_IP_MODE": "auto"}, "DANGO_CLIENT_IP_MODE='auto' is not a client IP mode"),
        ({"DANGO_TRUSTED_PROXIES": "127.0.0.1,localhost"}, "DANGO_TRUSTED_PROXIES: 'localhost' is not an IP address"),
        ({"DANGO_IP_ALLOWLIST": "198.51.100.0/24,198.51.100.300/32"}, "DANGO_IP_ALLOWLIST: '198.51.100.300/32' is not"),
        ({"DANGO_CLOUDFLARE_IP_RANGES": "2606:4700::/129"}, "DANGO_CLOUDFLARE_IP_RANGES: '2606:4700::/129' is not"),
    ],
    ids=["mode", "trusted-proxies", "allowlist", "cloudflare-ranges"],
)
def test_invalid_setting_stops_start_up(tmp_path, environment, message):
    """An invalid client IP or allowlist setting stops manage.py at start-up with a message naming it."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DANGO_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update({"DANGO_PROJECT_ROOT": str(tmp_path), **environment})
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert message in result.stderr


def test_valid_settings_parse():
    """validate_settings accepts the defaults."""
    conf.validate_settings()


@override_settings(DANGO_IP_ALLOWLIST=["10.1.2.3/8", "2001:db8::1"])
def test_networks_allow_host_bits_and_single_addresses():
    """A network written with host bits means its network; a bare address is a /32 or /128."""
    assert [str(network) for network in conf.get_ip_allowlist()] == ["10.0.0.0/8", "2001:db8::1/128"]


@pytest.mark.parametrize(
    "name,value,message",
    [
        ("DANGO_IP_ALLOWLIST", "10.0.0.0/8", "must be a list of CIDR strings"),
        ("DANGO_TRUSTED_PROXIES", [42], "DANGO_TRUSTED_PROXIES: 42 is not a string"),
        ("DANGO_IP_ALLOWLIST_EXEMPT_PATHS", "/healthz", "must be a list of URL paths"),
        ("DANGO_IP_BLOCKED_EVENT_INTERVAL", 0, "DANGO_IP_BLOCKED_EVENT_INTERVAL=0"),
        ("DANGO_IP_BLOCKED_EVENT_INTERVAL", True, "DANGO_IP_BLOCKED_EVENT_INTERVAL=True"),
        ("DANGO_PERMISSIONS_POLICY", ["camera"], "must be a dict"),
        ("DANGO_PERMISSIONS_POLICY", {"Camera Feature": []}, "feature name 'Camera Feature'"),
        ("DANGO_PERMISSIONS_POLICY", {"camera": "self"}, "must be a list"),
        ("DANGO_PERMISSIONS_POLICY", {"camera": ["evil\" ; x"]}, "contains 'evil\" ; x'"),
    ],
)
def test_invalid_setting_raises_naming_it(name, value, message):
    """A setting of the wrong shape raises ImproperlyConfigured naming the setting and the value."""
    with override_settings(**{name: value}):
        with pytest.raises(ImproperlyConfigured) as raised:
            conf.validate_settings()
    assert message in str(raised.value)
