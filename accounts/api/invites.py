"""Invitations (users.manage): invite an email address with a role, revoke a pending invitation.

Both go through ``accounts.invites.service``, so the checks (only an Admin
invites an Admin, one pending invitation per address) and the audit events
are those of the admin and ``manage.py users``.
"""

from accounts.api.base import ApiView, requires
from accounts.api.errors import ApiError
from accounts.api.parsing import check_fields, query_params
from accounts.api.serializers import invite_summary
from accounts.invites.service import InviteError, create_invite, get_open_invite, revoke_invite

# InviteError codes that mean the request conflicts with existing data (409), not that it is malformed (400).
CONFLICT_CODES = frozenset({"user_exists", "invite_pending", "not_pending"})


def invite_error(error: InviteError) -> ApiError:
    status = 409 if error.code in CONFLICT_CODES else 400
    return ApiError(status, error.code or "invalid_invite", " ".join(error.messages))


def string_field(data: dict, name: str, code: str) -> str:
    value = data[name]
    if not isinstance(value, str):
        raise ApiError(400, code, f"The field \"{name}\" must be a string.")
    return value


class InviteCreateView(ApiView):
    @requires("users.manage")
    def post(self, request):
        """Invite an address; the one-time link is in this response only."""
        query_params(request, allowed=set())
        check_fields(request.json, {"email", "role"}, required={"email", "role"})
        email = string_field(request.json, "email", "invalid_email")
        role = string_field(request.json, "role", "invalid_role")
        try:
            issued = create_invite(email, role, actor=request.user, request=request)
        except InviteError as error:
            raise invite_error(error) from None
        return 201, {**invite_summary(issued.invite), "url": issued.url}


class InviteRevokeView(ApiView):
    @requires("users.manage")
    def post(self, request):
        """Revoke the pending invitation of an address; its link stops working."""
        query_params(request, allowed=set())
        check_fields(request.json, {"email"}, required={"email"})
        email = string_field(request.json, "email", "invalid_email")
        if not email.strip():
            raise ApiError(400, "invalid_email", "The field \"email\" is empty. Give the invited address.")
        invite = get_open_invite(email)
        if invite is None:
            raise ApiError(404, "not_found",
                           f"No invitation for {email!r} is pending. Invitations that were accepted, revoked or "
                           "replaced cannot be revoked.")
        try:
            invite = revoke_invite(invite, actor=request.user, request=request)
        except InviteError as error:
            raise invite_error(error) from None
        return invite_summary(invite)
