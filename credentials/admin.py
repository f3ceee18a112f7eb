from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

from credentials.actions import get_store
from credentials.exceptions import CredentialsError
from credentials.masking import mask_value
from credentials.models import StoredSecret
from credentials.paths import format_path
from rbac.admin_mixins import ReadOnlyPermissionAdminMixin


@admin.register(StoredSecret)
class StoredSecretAdmin(ReadOnlyPermissionAdminMixin, admin.ModelAdmin):
    """Read-only, masked list of sources and keys; changes go through the Credentials page."""

    view_permission = "source.view"

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [path("", self.admin_site.admin_view(self.changelist_view), name="%s_%s_changelist" % info)]

    @method_decorator(never_cache)
    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied("Your role does not include the permission source.view.")
        store = get_store()
        try:
            groups = [
                {
                    "name": format_path(group),
                    "rows": [(stored.key, mask_value(stored.value)) for stored in values],
                }
                for group, values in store.groups().items()
            ]
            load_error = None
        except CredentialsError as error:
            groups, load_error = [], str(error)
        context = {
            **self.admin_site.each_context(request),
            "title": "Stored secrets",
            "opts": self.opts,
            "groups": groups,
            "load_error": load_error,
            "file_name": store.display_name,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "credentials/admin/stored_secrets.html", context)
