"""The configured sign-in providers, and where each one is configured.

A provider is configured either by environment variables (an ``APP`` entry in
SOCIALACCOUNT_PROVIDERS, see dango_site/settings.py) or by one SocialApp row
in the admin. allauth raises MultipleObjectsReturned when it finds more than
one app for a provider, which would turn every page that lists providers
into a server error. The admin refuses to create such a row, and
``drop_shadowed_apps`` resolves rows left over from before.
"""

import logging

from allauth.socialaccount.providers import registry
from django.conf import settings

logger = logging.getLogger("accounts")

ENV_VARIABLES = {
    "google": ("DANGO_GOOGLE_CLIENT_ID", "DANGO_GOOGLE_CLIENT_SECRET"),
    "github": ("DANGO_GITHUB_CLIENT_ID", "DANGO_GITHUB_CLIENT_SECRET"),
}

_reported_shadowed: set[str] = set()


def provider_name(provider_id: str) -> str:
    """Return the display name of ``provider_id`` ("GitHub"), or the id if it is not installed."""
    provider_class = registry.get_class(provider_id)
    return provider_class.name if provider_class else provider_id


def providers_configured_in_settings() -> set[str]:
    configured = set()
    for provider_id, config in getattr(settings, "SOCIALACCOUNT_PROVIDERS", {}).items():
        if config.get("APP") or config.get("APPS"):
            configured.add(provider_id)
    return configured


def drop_shadowed_apps(apps: list) -> list:
    """Keep one source of apps per provider: the settings, else the oldest database row.

    Settings apps are unsaved SocialApp objects (``pk`` None). The
    environment wins because the admin refuses new rows for a provider
    configured there, so a row next to it predates the variables.
    """
    by_provider: dict[str, list] = {}
    for app in apps:
        by_provider.setdefault(app.provider, []).append(app)
    selected = []
    for provider_id, provider_apps in by_provider.items():
        from_settings = [app for app in provider_apps if app.pk is None]
        from_database = sorted((app for app in provider_apps if app.pk is not None), key=lambda app: app.pk)
        chosen = from_settings or from_database[:1]
        if len(chosen) < len(provider_apps) and provider_id not in _reported_shadowed:
            _reported_shadowed.add(provider_id)
            logger.error(
                "%s sign-in is configured more than once (environment variables: %s, social applications in "
                "the admin: %s); using %s. Keep only one.",
                provider_name(provider_id),
                "yes" if from_settings else "no",
                ", ".join(str(app.pk) for app in from_database),
                "the environment variables" if from_settings else f"social application {chosen[0].pk}",
            )
        selected.extend(chosen)
    return selected
