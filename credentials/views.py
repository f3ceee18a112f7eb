"""The Credentials pages: list masked, reveal, set, delete, disconnect, health.

Every page is marked never_cache, and the templates only ever receive
masked values, apart from the one value a reveal requests.
"""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.reauth import reauthentication_required
from credentials import google_oauth
from credentials.actions import delete_secret, get_store, reveal_secret, set_secret
from credentials.exceptions import CredentialsError
from credentials.forms import SecretPathForm, SetSecretForm
from credentials.health import check_health, format_mode
from credentials.listing import masked_listing
from rbac.decorators import has_permission, permission_required


def _listing() -> dict:
    """Build the masked listing, or an error message when the file cannot be read."""
    try:
        groups, oauth_sources = masked_listing(get_store())
    except CredentialsError as error:
        return {"load_error": str(error), "groups": [], "oauth_sources": []}
    return {"groups": groups, "oauth_sources": oauth_sources, "load_error": None}


def _render_index(request, *, set_form=None, revealed=None, error=None, status=200):
    context = {
        **_listing(),
        "file_name": get_store().display_name,
        "can_reveal": has_permission(request.user, "source.view_credentials"),
        "can_manage": has_permission(request.user, "source.manage"),
        "set_form": set_form or SetSecretForm(),
        "revealed": revealed,
        "error": error,
    }
    return render(request, "credentials/index.html", context, status=status)


@never_cache
@permission_required("source.view")
def index(request):
    return _render_index(request)


@never_cache
@permission_required("source.manage")
@require_POST
@sensitive_post_parameters("value")
def set_value(request):
    form = SetSecretForm(request.POST)
    if not form.is_valid():
        return _render_index(request, set_form=form, status=400)
    path = form.cleaned_data["path"]
    try:
        created = set_secret(path, form.cleaned_data["value"], actor=request.user, request=request)
    except CredentialsError as error:
        form.add_error(None, str(error))
        return _render_index(request, set_form=form, status=400)
    messages.success(request, f"{'Added' if created else 'Changed'} {path}.")
    return redirect("credentials:index")


@never_cache
@permission_required("source.view_credentials")
@require_POST
@reauthentication_required
def reveal(request):
    form = SecretPathForm(request.POST)
    if not form.is_valid():
        return _render_index(request, error=" ".join(form.errors["path"]), status=400)
    path = form.cleaned_data["path"]
    try:
        value = reveal_secret(path, actor=request.user, request=request)
    except CredentialsError as error:
        return _render_index(request, error=str(error), status=400)
    return _render_index(request, revealed={"path": path, "value": value})


@never_cache
@permission_required("source.manage")
def delete(request):
    form = SecretPathForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        return _render_index(request, error=" ".join(form.errors["path"]), status=400)
    path = form.cleaned_data["path"]
    if request.method != "POST":
        try:
            get_store().get(path)
        except CredentialsError as error:
            return _render_index(request, error=str(error), status=400)
        return render(request, "credentials/delete.html", {"path": path})
    try:
        delete_secret(path, actor=request.user, request=request)
    except CredentialsError as error:
        return _render_index(request, error=str(error), status=400)
    messages.success(request, f"Deleted {path}.")
    return redirect("credentials:index")


@never_cache
@permission_required("source.manage")
@require_POST
def disconnect(request, source: str):
    try:
        revoked = google_oauth.disconnect(source, actor=request.user, request=request)
    except CredentialsError as error:
        messages.error(request, str(error))
        return redirect("credentials:index")
    if revoked:
        messages.success(request, f"Disconnected {source}: Google revoked the token and Dango removed it.")
    else:
        messages.success(request, f"Disconnected {source}: Google no longer knew the token; Dango removed it.")
    return redirect("credentials:index")


@never_cache
@permission_required("source.view")
def health(request):
    report = check_health(get_store())
    context = {
        "report": report,
        "file_mode": format_mode(report.file_mode),
        "folder_mode": format_mode(report.folder_mode),
    }
    return render(request, "credentials/health.html", context)
