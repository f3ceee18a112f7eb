import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from hardening.production import check_production_settings, find_unsafe_production_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = "k" * 20 + "0123456789abcdefghijklmnopqrstuvwxyz"

SAFE = {
    "DEBUG": False,
    "ALLOWED_HOSTS": ["dango.example.com"],
    "SECRET_KEY": STRONG_KEY,
    "SECRET_KEY_FALLBACKS": [],
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
    "SESSION_COOKIE_HTTPONLY": True,
}


def test_safe_settings_pass():
    """Safe production settings raise nothing."""
    assert find_unsafe_production_settings(SAFE) == []
    check_production_settings(SAFE)


@pytest.mark.parametrize(
    "change,named",
    [
        ({"DEBUG": True}, "DEBUG is on (set by DANGO_DEBUG)"),
        ({"ALLOWED_HOSTS": []}, "ALLOWED_HOSTS is empty (set by DANGO_ALLOWED_HOSTS or DANGO_DOMAIN)"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY is weak"),
        ({"SECRET_KEY": "a" * 60}, "SECRET_KEY is weak"),
        ({"SECRET_KEY": "django-insecure-" + STRONG_KEY}, "SECRET_KEY is weak"),
        ({"SECRET_KEY": None}, "SECRET_KEY is weak"),
        ({"SECRET_KEY_FALLBACKS": [STRONG_KEY, "weak"]}, "SECRET_KEY_FALLBACKS entry 2 is weak"),
        ({"SESSION_COOKIE_SECURE": False}, "SESSION_COOKIE_SECURE is off (set by DANGO_HTTPS)"),
        ({"CSRF_COOKIE_SECURE": False}, "CSRF_COOKIE_SECURE is off (set by DANGO_HTTPS)"),
        ({"SESSION_COOKIE_HTTPONLY": False}, "SESSION_COOKIE_HTTPONLY is off"),
    ],
)
def test_each_unsafe_setting_is_refused_by_name(change, named):
    """Each unsafe setting raises ImproperlyConfigured with a message naming it."""
    with pytest.raises(ImproperlyConfigured) as raised:
        check_production_settings({**SAFE, **change})
    assert named in str(raised.value)
    assert "Refusing to start in production" in str(raised.value)


def test_every_problem_is_listed_at_once():
    """All unsafe settings are reported together, one line each."""
    problems = find_unsafe_production_settings({**SAFE, "DEBUG": True, "ALLOWED_HOSTS": [], "CSRF_COOKIE_SECURE": False})
    assert len(problems) == 3


def _run(tmp_path, command, **environment):
    env = {key: value for key, value in os.environ.items() if not key.startswith("DANGO_")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update({"DANGO_PROJECT_ROOT": str(tmp_path), **environment})
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)


MANAGE = [sys.executable, "manage.py"]


@pytest.mark.parametrize(
    "environment,named",
    [
        ({"DANGO_ENV": "production", "DANGO_DEBUG": "true", "DANGO_ALLOWED_HOSTS": "dango.example.com"}, "DEBUG is on"),
        ({"DANGO_ENV": "production"}, "ALLOWED_HOSTS is empty"),
        ({"DANGO_DOMAIN": "dango.example.com", "DANGO_HTTPS": "false"}, "SESSION_COOKIE_SECURE is off"),
    ],
    ids=["debug", "allowed-hosts", "insecure-cookies"],
)
def test_manage_check_refuses_unsafe_production(tmp_path, environment, named):
    """manage.py stops with an error naming the unsafe setting before doing anything."""
    result = _run(tmp_path, [*MANAGE, "check"], **environment)
    assert result.returncode != 0
    assert named in result.stderr


def test_runserver_refuses_unsafe_production(tmp_path):
    """runserver does not start in production with DEBUG on."""
    result = _run(
        tmp_path,
        [*MANAGE, "runserver", "--noreload", "127.0.0.1:0"],
        DANGO_DOMAIN="dango.example.com",
        DANGO_DEBUG="1",
    )
    assert result.returncode != 0
    assert "DEBUG is on" in result.stderr
    assert "Starting development server" not in result.stdout + result.stderr


def test_gunicorn_refuses_unsafe_production(tmp_path):
    """gunicorn does not boot the site in production with an empty ALLOWED_HOSTS."""
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    result = _run(
        tmp_path,
        [gunicorn, "--bind", "127.0.0.1:0", "--workers", "1", "--preload", "dango_site.wsgi:application"],
        DANGO_ENV="production",
    )
    assert result.returncode != 0
    assert "ALLOWED_HOSTS is empty" in result.stderr


def test_safe_production_starts(tmp_path):
    """With a domain set and the defaults, production settings load and the checks run."""
    result = _run(tmp_path, [*MANAGE, "check"], DANGO_DOMAIN="dango.example.com")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
