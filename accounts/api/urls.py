"""URLs of the JSON API, mounted at /api/ by the root URLconf.

Every path under /api/ that matches no endpoint gets a JSON 404 from the last
pattern, so clients never receive an HTML page.
"""

from django.urls import path, re_path, register_converter
from django.views.decorators.csrf import csrf_exempt

from accounts.api import audit_log, credentials, health, invites, keys, me, users
from accounts.api.errors import not_found_response


class IdConverter:
    """A database id: at most 18 digits, so it always fits a 64-bit integer column."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")

urlpatterns = [
    path("me", me.MeView.as_view(), name="api_me"),
    path("users", users.UserListView.as_view(), name="api_users"),
    path("users/<id:user_id>", users.UserDetailView.as_view(), name="api_user"),
    path("users/<id:user_id>/role", users.UserRoleView.as_view(), name="api_user_role"),
    path("users/<id:user_id>/deactivate", users.UserDeactivateView.as_view(), name="api_user_deactivate"),
    path("users/<id:user_id>/reactivate", users.UserReactivateView.as_view(), name="api_user_reactivate"),
    path("keys", keys.KeyListView.as_view(), name="api_keys"),
    path("keys/<id:key_id>", keys.KeyDetailView.as_view(), name="api_key"),
    path("health", health.HealthView.as_view(), name="api_health"),
    path("users/invite", invites.InviteCreateView.as_view(), name="api_user_invite"),
    path("users/invite/revoke", invites.InviteRevokeView.as_view(), name="api_user_invite_revoke"),
    path("audit", audit_log.AuditLogView.as_view(), name="api_audit"),
    path("credentials", credentials.CredentialListView.as_view(), name="api_credentials"),
    path("credentials/reveal", credentials.CredentialRevealView.as_view(), name="api_credentials_reveal"),
    re_path(r"^", csrf_exempt(not_found_response), name="api_not_found"),
]
