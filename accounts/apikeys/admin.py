from django.contrib import admin, messages

from accounts.apikeys.models import ApiKey
from accounts.apikeys.operations import ApiKeyError, revoke_api_key
from rbac.decorators import has_permission


class ApiKeyStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("expired", "Expired"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        from django.utils import timezone

        now = timezone.now()
        if self.value() == "active":
            return queryset.active(now)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Every user's API keys, read-only, with a revoke action; needs auth.manage.

    Keys are created by their owners (account page, API, ``manage.py apikeys``)
    because only the creator may see the raw key, so there is no add form.
    The hash is not shown: it identifies the key and is of no use to a reader.
    """

    list_display = ["prefix", "name", "user", "scope_list", "created_at", "expires_at", "last_used_at",
                    "last_used_ip", "key_status"]
    list_filter = [ApiKeyStatusFilter]
    search_fields = ["prefix", "name", "user__email"]
    list_select_related = ["user"]
    fields = ["prefix", "name", "user", "scopes", "created_at", "expires_at", "last_used_at", "last_used_ip",
              "revoked_at", "revoked_by"]
    readonly_fields = fields
    actions = ["revoke_selected"]

    @admin.display(description="Scopes")
    def scope_list(self, obj):
        return "all of the owner's role" if obj.scopes is None else ", ".join(obj.scopes)

    @admin.display(description="Status")
    def key_status(self, obj):
        return obj.status().label

    def has_module_permission(self, request):
        return has_permission(request.user, "auth.manage")

    def has_view_permission(self, request, obj=None):
        return has_permission(request.user, "auth.manage")

    def has_revoke_permission(self, request):
        return has_permission(request.user, "auth.manage")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Revoked keys stay, so the audit log's key ids keep pointing at a row.
        return False

    @admin.action(description="Revoke selected API keys", permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        count = 0
        for key in queryset.filter(revoked_at__isnull=True):
            try:
                revoke_api_key(key, by=request.user, request=request)
            except ApiKeyError:
                continue  # revoked by someone else since the list was loaded
            count += 1
        self.message_user(request, f"Revoked {count} API key(s).", messages.SUCCESS)
