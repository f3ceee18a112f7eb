import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db

REPO_ROOT = Path(__file__).resolve().parents[2]

HTTPS_SETTINGS = {
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
    "SESSION_COOKIE_NAME": "__Host-sessionid",
    "CSRF_COOKIE_NAME": "__Host-csrftoken",
    "MESSAGE_STORAGE": "hardening.cookies.HostPrefixedFallbackStorage",
    "SECURE_HSTS_SECONDS": 31536000,
}


def _csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def test_security_headers_on_login_page(client):
    """The login page carries CSP, X-Frame-Options, nosniff, Referrer-, Permissions- and Cross-Origin-Opener-Policy."""
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]


def test_content_security_policy_allows_no_inline_code(client):
    """The CSP allows scripts and styles from the site only: no inline code, no eval, no framing."""
    directives = _csp_directives(client.get("/accounts/login/")["Content-Security-Policy"])
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert "'unsafe-inline'" not in json.dumps(directives)
    assert "'unsafe-eval'" not in json.dumps(directives)


def test_content_security_policy_lets_oauth_forms_redirect(client):
    """form-action names the OAuth providers, since a sign-in POST redirects to them."""
    directives = _csp_directives(client.get("/accounts/login/")["Content-Security-Policy"])
    assert directives["form-action"] == ["'self'", "https://accounts.google.com", "https://github.com"]


@override_settings(DANGO_PERMISSIONS_POLICY={"camera": [], "fullscreen": ["self", "https://video.example.com"]})
def test_permissions_policy_setting(client):
    """DANGO_PERMISSIONS_POLICY is serialized into the header with origins quoted."""
    response = client.get("/accounts/login/")
    assert response["Permissions-Policy"] == 'camera=(), fullscreen=(self "https://video.example.com")'


@override_settings(SECURE_HSTS_SECONDS=31536000)
def test_hsts_only_over_https(client):
    """Strict-Transport-Security is sent on HTTPS responses and never on plain HTTP."""
    assert client.get("/accounts/login/", secure=True)["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/accounts/login/")


@override_settings(**HTTPS_SETTINGS)
def test_https_cookies_are_host_prefixed_secure_httponly(client, make_user):
    """Over HTTPS every cookie the sign-in sets is __Host- prefixed, Secure, HttpOnly, host-only and on path /."""
    make_user("viewer@example.com")
    client.get("/accounts/login/", secure=True)
    response = client.post(
        "/accounts/login/",
        {"login": "viewer@example.com", "password": "Correct-Horse-42"},
        secure=True,
    )
    assert response.status_code == 302
    names = set(client.cookies.keys())
    assert {"__Host-sessionid", "__Host-csrftoken", "__Host-messages"} <= names
    for name in names:
        cookie = client.cookies[name]
        assert name.startswith("__Host-"), name
        assert cookie["secure"], name
        assert cookie["httponly"], name
        assert cookie["path"] == "/", name
        assert not cookie["domain"], name


def _settings_in_subprocess(tmp_path, **environment) -> dict:
    script = (
        "import json, dango_site.settings as s; "
        "print(json.dumps({name: getattr(s, name, None) for name in ("
        "'SESSION_COOKIE_NAME', 'CSRF_COOKIE_NAME', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', "
        "'SESSION_COOKIE_HTTPONLY', 'CSRF_COOKIE_HTTPONLY', 'MESSAGE_STORAGE', 'SECURE_HSTS_SECONDS', "
        "'AXES_CLIENT_IP_CALLABLE')}))"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("DANGO_")}
    env.update({"DANGO_PROJECT_ROOT": str(tmp_path), **environment})
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_settings_use_host_prefixed_secure_cookies(tmp_path):
    """With a domain set, settings.py names every cookie __Host- and makes them Secure and HttpOnly."""
    values = _settings_in_subprocess(tmp_path, DANGO_DOMAIN="dango.example.com")
    assert values["SESSION_COOKIE_NAME"] == "__Host-sessionid"
    assert values["CSRF_COOKIE_NAME"] == "__Host-csrftoken"
    assert values["MESSAGE_STORAGE"] == "hardening.cookies.HostPrefixedFallbackStorage"
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["CSRF_COOKIE_HTTPONLY"] is True
    assert values["SECURE_HSTS_SECONDS"] == 31536000


def test_axes_setting_points_at_project_client_ip(tmp_path):
    """settings.py hands django-axes the project's get_client_ip."""
    values = _settings_in_subprocess(tmp_path)
    assert values["AXES_CLIENT_IP_CALLABLE"] == "hardening.client_ip.get_client_ip"
