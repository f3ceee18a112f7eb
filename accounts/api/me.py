from accounts.api.base import ApiView
from accounts.api.parsing import query_params
from accounts.api.serializers import api_key_summary, user_summary
from rbac.decorators import has_permission
from rbac.permissions import PERMISSIONS


class MeView(ApiView):
    """The caller: user, role, effective permissions and how the request was authenticated."""

    def get(self, request):
        query_params(request, allowed=set())
        user = request.user
        permissions = sorted(name for name in PERMISSIONS if has_permission(user, name))
        key = request.api_key
        return {
            "user": user_summary(user),
            "permissions": permissions,
            "authentication": {
                "method": "api_key" if key is not None else "session",
                "api_key": api_key_summary(key) if key is not None else None,
            },
        }
