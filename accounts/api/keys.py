"""The caller's own API keys: list, create, show, revoke."""

from accounts.api.base import ApiView
from accounts.api.errors import ApiError
from accounts.api.parsing import check_fields, query_params
from accounts.api.reauthentication import CREDENTIAL_FIELDS, require_reauthentication
from accounts.api.serializers import api_key_summary
from accounts.apikeys.models import ApiKey
from accounts.apikeys.operations import CONFLICT_CODES, ApiKeyError, create_api_key, revoke_api_key

CREATE_FIELDS = {"name", "scopes", "expires_in_days", *CREDENTIAL_FIELDS}


def key_error(error: ApiKeyError) -> ApiError:
    return ApiError(409 if error.code in CONFLICT_CODES else 400, error.code, error.message)


def own_key(request, key_id: int) -> ApiKey:
    # Another user's key gets the same 404 as a missing one, so ids reveal nothing.
    key = ApiKey.objects.filter(pk=key_id, user=request.user).first()
    if key is None:
        raise ApiError(404, "not_found", f"You have no API key with id {key_id}. List yours with GET /api/keys.")
    return key


class KeyListView(ApiView):
    def get(self, request):
        query_params(request, allowed=set())
        keys = ApiKey.objects.filter(user=request.user).order_by("-created_at")
        return {"api_keys": [api_key_summary(key) for key in keys]}

    def post(self, request):
        """Create a key, in sudo mode: a recent re-authentication of the session, or credentials in the body.

        A key-authenticated request always sends the credentials, and the new
        key can carry at most the calling key's permissions.
        """
        query_params(request, allowed=set())
        data = request.json
        check_fields(data, CREATE_FIELDS, required={"name"})
        rejection = require_reauthentication(request, data, "Creating an API key")
        if rejection is not None:
            return rejection

        calling_key = request.api_key
        allowed_scopes, allowed_label = None, "your role"
        if calling_key is not None and calling_key.scopes is not None:
            allowed_scopes = frozenset(calling_key.scopes)
            allowed_label = "the API key making this request"
        try:
            created = create_api_key(
                request.user, data["name"], scopes=data.get("scopes"), expires_in_days=data.get("expires_in_days"),
                request=request, allowed_scopes=allowed_scopes, allowed_label=allowed_label,
            )
        except ApiKeyError as error:
            raise key_error(error) from None
        return 201, {**api_key_summary(created.key), "key": created.raw}


class KeyDetailView(ApiView):
    def get(self, request, key_id: int):
        query_params(request, allowed=set())
        return api_key_summary(own_key(request, key_id))

    def delete(self, request, key_id: int):
        """Revoke the key; the row stays so the audit log's references keep meaning."""
        query_params(request, allowed=set())
        key = own_key(request, key_id)
        try:
            revoke_api_key(key, by=request.user, request=request)
        except ApiKeyError as error:
            raise key_error(error) from None
        return api_key_summary(key)
