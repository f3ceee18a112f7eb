from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.models import SocialAccount
from django import template

from accounts.oauth.providers import provider_name

register = template.Library()


@register.simple_tag(takes_context=True)
def oauth_providers(context) -> list:
    """Return the sign-in providers configured for this site, by name."""
    request = context["request"]
    providers = get_adapter(request).list_providers(request)
    return sorted((provider for provider in providers if provider.app), key=lambda provider: provider.name)


def _account_label(account: SocialAccount) -> str:
    data = account.extra_data or {}
    return str(data.get("email") or data.get("login") or data.get("name") or account.uid)


@register.simple_tag(takes_context=True)
def oauth_sign_in_methods(context, user) -> list[dict]:
    """Return one row per provider that is configured or linked to ``user``.

    Each row has ``id``, ``name``, ``provider`` (None when the provider is no
    longer configured, so it can be unlinked but not linked again) and
    ``accounts``, a list of ``{"id", "label"}`` for the user's links.
    """
    rows: dict[str, dict] = {}
    for provider in oauth_providers(context):
        rows[provider.id] = {"id": provider.id, "name": provider.name, "provider": provider, "accounts": []}
    for account in SocialAccount.objects.filter(user_id=user.pk).order_by("provider", "pk"):
        row = rows.setdefault(
            account.provider,
            {"id": account.provider, "name": provider_name(account.provider), "provider": None, "accounts": []},
        )
        row["accounts"].append({"id": account.pk, "label": _account_label(account)})
    return sorted(rows.values(), key=lambda row: row["name"])
