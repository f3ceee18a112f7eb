from django import template

from accounts.apikeys.models import ApiKey

register = template.Library()


@register.inclusion_tag("accounts/apikeys/section.html", takes_context=True)
def api_keys_section(context):
    """Render the account page's list of the signed-in user's API keys."""
    request = context["request"]
    keys = list(ApiKey.objects.filter(user=request.user).order_by("revoked_at", "-created_at"))
    return {"keys": keys, "request": request, "csrf_token": context.get("csrf_token")}
