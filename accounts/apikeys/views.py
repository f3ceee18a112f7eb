"""The account page's API key screens: create a key (in sudo mode), revoke one."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.apikeys.forms import ApiKeyCreateForm
from accounts.apikeys.models import ApiKey
from accounts.apikeys.operations import ApiKeyError, create_api_key, revoke_api_key
from accounts.reauth import reauthentication_required


@never_cache
@reauthentication_required
def create_key(request):
    form = ApiKeyCreateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = create_api_key(
                request.user, data["name"], scopes=data["scopes"] or None, expires_in_days=data["expires_in_days"],
                request=request,
            )
        except ApiKeyError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            # Rendered, not redirected: the raw key must not pass through the
            # session or the messages framework to reach the next page.
            return render(request, "accounts/apikeys/created.html", {"key": created.key, "raw_key": created.raw})
    return render(request, "accounts/apikeys/create.html", {"form": form})


@login_required
@require_POST
def revoke_key(request, key_id: int):
    key = get_object_or_404(ApiKey, pk=key_id, user=request.user)
    try:
        revoke_api_key(key, by=request.user, request=request)
    except ApiKeyError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"The API key {key.prefix}… ({key.name}) was revoked.")
    return redirect("account")
