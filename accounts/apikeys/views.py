"""The account page's API key screens: confirm the password, create a key, revoke one."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.apikeys.confirmation import CONFIRMATION_RATE, check_password_confirmation, recent_password_required
from accounts.apikeys.forms import ApiKeyCreateForm, PasswordConfirmForm
from accounts.apikeys.models import ApiKey
from accounts.apikeys.operations import ApiKeyError, create_api_key, revoke_api_key
from accounts.ratelimit import too_many_requests


@login_required
@never_cache
def confirm_password(request):
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = reverse("account")
    form = PasswordConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = check_password_confirmation(request, request.user, form.cleaned_data["password"])
        if result.rate_limit is not None:
            return too_many_requests(request, CONFIRMATION_RATE, result.rate_limit, key_kind="user")
        if result.confirmed:
            return redirect(next_url)
        form.add_error("password", result.message)
    return render(request, "accounts/apikeys/confirm_password.html", {"form": form, "next": next_url})


@login_required
@recent_password_required
@never_cache
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
