"""Refuse to start a production deployment whose settings are unsafe.

settings.py calls check_production_settings(globals()) as its last statement
when the deployment is in production, so the refusal happens while Django
loads its settings: ``manage.py runserver``, ``manage.py check`` and gunicorn
all stop before serving a request. This module imports nothing from Django
but the exception, because it runs before apps or models are loaded.
"""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured

# The same limits as Django's own check security.W009.
MIN_SECRET_KEY_LENGTH = 50
MIN_SECRET_KEY_UNIQUE_CHARACTERS = 5
INSECURE_SECRET_KEY_PREFIX = "django-insecure-"

# The environment variable that sets each Django setting in Dango's settings.py.
ENVIRONMENT_VARIABLES = {
    "DEBUG": "DANGO_DEBUG",
    "ALLOWED_HOSTS": "DANGO_ALLOWED_HOSTS or DANGO_DOMAIN",
    "SESSION_COOKIE_SECURE": "DANGO_HTTPS",
    "CSRF_COOKIE_SECURE": "DANGO_HTTPS",
}


def is_weak_secret_key(key: Any) -> bool:
    return (
        not isinstance(key, str)
        or len(key) < MIN_SECRET_KEY_LENGTH
        or len(set(key)) < MIN_SECRET_KEY_UNIQUE_CHARACTERS
        or key.startswith(INSECURE_SECRET_KEY_PREFIX)
    )


def _via(setting: str) -> str:
    variable = ENVIRONMENT_VARIABLES.get(setting)
    return f" (set by {variable})" if variable else ""


def find_unsafe_production_settings(settings: Mapping[str, Any]) -> list[str]:
    """Return one sentence per unsafe setting in ``settings`` (a settings module's namespace)."""
    problems = []
    if settings.get("DEBUG"):
        problems.append(
            f"DEBUG is on{_via('DEBUG')}: debug pages show settings and source code to anyone. Turn it off."
        )
    if not settings.get("ALLOWED_HOSTS"):
        problems.append(
            f"ALLOWED_HOSTS is empty{_via('ALLOWED_HOSTS')}: set it to the site's domain name."
        )
    if is_weak_secret_key(settings.get("SECRET_KEY")):
        problems.append(
            f"SECRET_KEY is weak: it needs at least {MIN_SECRET_KEY_LENGTH} characters, "
            f"{MIN_SECRET_KEY_UNIQUE_CHARACTERS} of them different, and no '{INSECURE_SECRET_KEY_PREFIX}' prefix. "
            "Delete .dango/secret_key to generate a new one (sessions will end)."
        )
    for position, key in enumerate(settings.get("SECRET_KEY_FALLBACKS") or [], start=1):
        if is_weak_secret_key(key):
            problems.append(
                f"SECRET_KEY_FALLBACKS entry {position} is weak: remove it; "
                "a weak fallback key lets anyone forge signatures as easily as a weak current key."
            )
    for setting in ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        if not settings.get(setting):
            problems.append(
                f"{setting} is off{_via(setting)}: browsers would send the cookie over plain HTTP. "
                "Serve the site over HTTPS and turn it on."
            )
    if not settings.get("SESSION_COOKIE_HTTPONLY", True):
        problems.append("SESSION_COOKIE_HTTPONLY is off: page scripts could read the session cookie. Turn it on.")
    return problems


def check_production_settings(settings: Mapping[str, Any]) -> None:
    """Raise ImproperlyConfigured listing every unsafe production setting, if there is any."""
    problems = find_unsafe_production_settings(settings)
    if problems:
        lines = "\n".join(f"  - {problem}" for problem in problems)
        raise ImproperlyConfigured(
            f"Refusing to start in production with unsafe settings:\n{lines}\n"
            "Production is on because DANGO_ENV=production or DANGO_DOMAIN is set."
        )
