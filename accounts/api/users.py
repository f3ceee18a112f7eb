"""Users: list and show (users.view); set role, deactivate, reactivate (users.manage).

Changes go through ``rbac.assignment.set_role`` and ``User.save``, so the
rules that keep an active Admin in charge, the session sign-outs and the
audit events are the same as in the admin and on the command line.
"""

from django.db import transaction

from accounts.api.base import ApiView, requires
from accounts.api.errors import ApiError
from accounts.api.parsing import bool_param, check_fields, int_param, query_params
from accounts.api.serializers import user_summary
from accounts.models import User
from rbac.assignment import RoleChangeError, check_can_remove, set_role
from rbac.roles import Role

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
ROLE_NAMES = ", ".join(role.value for role in Role)
# Role-change rejections that mean "not you" (403) rather than "not now" (409).
FORBIDDEN_CODES = frozenset({"admin_grant_forbidden"})


def find_user(user_id: int) -> User:
    user = User.objects.filter(pk=user_id).prefetch_related("groups").first()
    if user is None:
        raise ApiError(404, "not_found", f"No user has the id {user_id}. List users with GET /api/users.")
    return user


def parse_role(value) -> Role:
    if not isinstance(value, str):
        raise ApiError(400, "invalid_role", f"The role must be a string, one of: {ROLE_NAMES}.")
    try:
        return Role.parse(value)
    except ValueError as error:
        raise ApiError(400, "invalid_role", str(error)) from None


def role_change_error(error: RoleChangeError) -> ApiError:
    status = 403 if error.code in FORBIDDEN_CODES else 409
    return ApiError(status, error.code or "role_change_rejected", " ".join(error.messages))


class UserListView(ApiView):
    @requires("users.view")
    def get(self, request):
        params = query_params(request, allowed={"role", "is_active", "limit", "offset"})
        limit = int_param(params, "limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        offset = int_param(params, "offset", 0, 0, 10**9)
        users = User.objects.order_by("email")
        if "role" in params:
            users = users.filter(groups__name=parse_role(params["role"]).group_name)
        is_active = bool_param(params, "is_active")
        if is_active is not None:
            users = users.filter(is_active=is_active)
        total = users.count()
        page = users.prefetch_related("groups")[offset:offset + limit]
        return {"count": total, "limit": limit, "offset": offset, "users": [user_summary(user) for user in page]}


class UserDetailView(ApiView):
    @requires("users.view")
    def get(self, request, user_id: int):
        query_params(request, allowed=set())
        return user_summary(find_user(user_id))


class UserRoleView(ApiView):
    @requires("users.manage")
    def put(self, request, user_id: int):
        query_params(request, allowed=set())
        check_fields(request.json, {"role"}, required={"role"})
        role = parse_role(request.json["role"])
        user = find_user(user_id)
        try:
            set_role(user, role, actor=request.user, request=request)
        except RoleChangeError as error:
            raise role_change_error(error) from None
        return user_summary(user)


class UserDeactivateView(ApiView):
    @requires("users.manage")
    def post(self, request, user_id: int):
        """Deactivate the user: sign-in, sessions and API keys stop working at once."""
        query_params(request, allowed=set())
        check_fields(request.json, set())
        user = find_user(user_id)
        if not user.is_active:
            raise ApiError(409, "already_inactive", f"{user.email} is already deactivated.")
        try:
            with transaction.atomic():
                check_can_remove(user, actor=request.user, action="deactivate")
                user.is_active = False
                user.save(update_fields=["is_active"])
        except RoleChangeError as error:
            user.is_active = True
            raise role_change_error(error) from None
        return user_summary(user)


class UserReactivateView(ApiView):
    @requires("users.manage")
    def post(self, request, user_id: int):
        query_params(request, allowed=set())
        check_fields(request.json, set())
        user = find_user(user_id)
        if user.is_active:
            raise ApiError(409, "already_active", f"{user.email} is already active.")
        user.is_active = True
        user.save(update_fields=["is_active"])
        return user_summary(user)
