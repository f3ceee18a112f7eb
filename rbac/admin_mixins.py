from rbac.decorators import has_permission


class ReadOnlyPermissionAdminMixin:
    """A read-only admin page shown to holders of ``view_permission`` (a dotted rbac name)."""

    view_permission: str = ""

    def has_module_permission(self, request) -> bool:
        return has_permission(request.user, self.view_permission)

    def has_view_permission(self, request, obj=None) -> bool:
        return has_permission(request.user, self.view_permission)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
