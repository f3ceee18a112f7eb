from django.contrib import admin
from django.contrib.auth.models import Group
from django.utils.html import format_html_join

from rbac.admin_mixins import ReadOnlyPermissionAdminMixin
from rbac.permissions import get_permission_by_codename
from rbac.roles import ROLE_GROUP_NAMES


if admin.site.is_registered(Group):
    admin.site.unregister(Group)


@admin.register(Group)
class RoleAdmin(ReadOnlyPermissionAdminMixin, admin.ModelAdmin):
    """Read-only view of the role groups.

    Role permissions come from the registry in rbac/roles.py and are restored
    on every ``migrate``, so editing them here would only create drift.
    """

    view_permission = "users.view"

    list_display = ["name", "permission_count", "member_count"]
    fields = ["name", "permission_names"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).filter(name__in=ROLE_GROUP_NAMES).prefetch_related("permissions")

    @admin.display(description="Permissions")
    def permission_count(self, obj):
        return obj.permissions.count()

    @admin.display(description="Members")
    def member_count(self, obj):
        return obj.user_set.filter(is_active=True).count()

    @admin.display(description="Permission names")
    def permission_names(self, obj):
        names = sorted(
            (permission.name for permission in map(get_permission_by_codename, obj.permissions.values_list("codename", flat=True)) if permission),
        )
        return format_html_join("\n", "<div>{}</div>", ((name,) for name in names))





