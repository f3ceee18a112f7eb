from allauth.socialaccount.models import SocialAccount
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from accounts.oauth.links import unlink
from accounts.oauth.providers import provider_name


@login_required
@require_POST
def unlink_account(request, account_id: int):
    # Filtering by owner makes another user's link id a 404, like a missing one.
    account = get_object_or_404(SocialAccount, pk=account_id, user=request.user)
    try:
        unlink(account, request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{provider_name(account.provider)} is no longer linked to your account.")
    return redirect("account")
