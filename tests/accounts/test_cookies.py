import json
from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.test import Client
from django.urls import reverse

from tests.accounts.helpers import run_manage, sign_in

pytestmark = pytest.mark.django_db

PRINT_SETTINGS = (
    "import json; from django.conf import settings as s; print(json.dumps({name: getattr(s, name) for name in "
    "['SESSION_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', 'SESSION_COOKIE_SAMESITE', 'SESSION_COOKIE_NAME', "
    "'CSRF_COOKIE_SECURE', 'CSRF_COOKIE_HTTPONLY', 'CSRF_COOKIE_SAMESITE', 'CSRF_COOKIE_NAME', "
    "'SECURE_HSTS_SECONDS', 'ACCOUNT_DEFAULT_HTTP_PROTOCOL']}))"
)


def store() -> SessionBase:
    return import_module(settings.SESSION_ENGINE).SessionStore()


def test_session_key_rotated_at_sign_in(make_user):
    """Signing in gives the browser a new session key and deletes the one it had before."""
    make_user("alice@example.com")
    client = Client()
    before = client.session
    before["cart"] = "planted"
    before.save()
    old_key = before.session_key

    sign_in(client, "alice@example.com")
    new_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert new_key != old_key
    assert not store().exists(old_key)
    assert store().exists(new_key)


def test_planted_session_key_not_adopted(make_user):
    """A session key set by someone else before sign-in is not the key of the signed-in session."""
    make_user("alice@example.com")
    attacker = Client()
    planted = attacker.session
    planted.save()

    victim = Client()
    victim.cookies[settings.SESSION_COOKIE_NAME] = planted.session_key
    sign_in(victim, "alice@example.com")
    assert victim.cookies[settings.SESSION_COOKIE_NAME].value != planted.session_key
    attacker.cookies[settings.SESSION_COOKIE_NAME] = planted.session_key
    assert attacker.get(reverse("home")).status_code == 302


def test_session_cookie_flags(make_user):
    """The session cookie set at sign-in is HttpOnly and SameSite=Lax, and lives for the absolute lifetime."""
    make_user("alice@example.com")
    client = Client()
    response = sign_in(client, "alice@example.com")
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] == settings.DANGO_SESSION_ABSOLUTE_TIMEOUT
    assert not cookie["secure"]


def test_csrf_cookie_flags(client):
    """The CSRF cookie is HttpOnly and SameSite=Lax."""
    response = client.get(reverse("account_login"))
    cookie = response.cookies[settings.CSRF_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"


def read_settings(tmp_path, **env) -> dict:
    result = run_manage(tmp_path, "shell", "-c", PRINT_SETTINGS, extra_env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_plain_http_settings(tmp_path):
    """Without HTTPS the cookies are not Secure and keep their plain names."""
    values = read_settings(tmp_path)
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["SESSION_COOKIE_NAME"] == "sessionid"
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert values["ACCOUNT_DEFAULT_HTTP_PROTOCOL"] == "http"


# Production refuses to start without ALLOWED_HOSTS, so that case names a host.
# HTTPS still follows from production alone.
@pytest.mark.parametrize(
    "env",
    [{"DANGO_HTTPS": "1"}, {"DANGO_ENV": "production", "DANGO_ALLOWED_HOSTS": "dango.example.com"}],
    ids=["https", "production"],
)
def test_https_settings(tmp_path, env):
    """Served over HTTPS, both cookies are Secure, HttpOnly, SameSite=Lax and carry the __Host- prefix."""
    values = read_settings(tmp_path, **env)
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_NAME"] == "__Host-sessionid"
    assert values["CSRF_COOKIE_NAME"] == "__Host-csrftoken"
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["CSRF_COOKIE_HTTPONLY"] is True
    assert values["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert values["CSRF_COOKIE_SAMESITE"] == "Lax"
    assert values["SECURE_HSTS_SECONDS"] == 31536000
    assert values["ACCOUNT_DEFAULT_HTTP_PROTOCOL"] == "https"


def test_https_sign_in_sets_host_prefixed_secure_cookie(tmp_path):
    """Under DANGO_HTTPS a real sign-in over https sets a Secure __Host- session cookie."""
    assert run_manage(tmp_path, "bootstrap", "--admin-email", "ops@example.com").returncode == 0
    script = (
        "from django.test import Client; from accounts.models import User; "
        "u = User.objects.get(email='ops@example.com'); u.set_password('Quiet-Meadow-Lantern-7'); u.save(); "
        "c = Client(HTTP_HOST='127.0.0.1'); "
        "r = c.post('/accounts/login/', {'login': 'ops@example.com', 'password': 'Quiet-Meadow-Lantern-7'}, secure=True); "
        "k = r.cookies['__Host-sessionid']; "
        "print(r.status_code, k['secure'], k['httponly'], k['samesite'], k['path'], repr(k['domain']))"
    )
    result = run_manage(tmp_path, "shell", "-c", script, extra_env={"DANGO_HTTPS": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "302 True True Lax / ''"


def test_bad_https_value_refused(tmp_path):
    """A DANGO_HTTPS value that is not a boolean stops start-up with a message naming it."""
    result = run_manage(tmp_path, "check", extra_env={"DANGO_HTTPS": "maybe"})
    assert result.returncode != 0
    assert "DANGO_HTTPS='maybe' is not a boolean" in result.stderr
