"""Data-source credentials: the masked list (source.view) and revealing one value (source.view_credentials).

A session request reveals in sudo mode (``accounts.api.reauthentication``).
A key-authenticated request has no session to re-authenticate, so it needs
a key whose scopes name source.view_credentials explicitly. Creating that
key already took a re-authentication, and a key without scopes, which gets
every permission of its owner's role, does not qualify. Every reveal is
recorded as ``secret_revealed``, with the key's prefix for a key.
"""

from django.views.decorators.debug import sensitive_variables

from accounts.api.base import ApiView, requires
from accounts.api.errors import ApiError
from accounts.api.parsing import check_fields, query_params
from accounts.api.reauthentication import CREDENTIAL_FIELDS, require_reauthentication
from accounts.api.serializers import oauth_source_summary
from credentials.actions import get_store, parse_user_path, reveal_secret
from credentials.exceptions import CredentialsError, InvalidSecretPath, SecretNotFound
from credentials.listing import masked_listing
from credentials.paths import format_path

REVEAL_PERMISSION = "source.view_credentials"
MAX_PATH_LENGTH = 500


def unreadable(error: CredentialsError) -> ApiError:
    # The message names the file and, for a parse error, the line; never a value.
    return ApiError(409, "credentials_unreadable", str(error))


def parse_path(value) -> str:
    """Return the dotted path in its normal form, or raise a 400 naming what is wrong."""
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "invalid_path", "The field \"path\" must be a dotted path such as sources.stripe.api_key.")
    if len(value) > MAX_PATH_LENGTH:
        raise ApiError(400, "invalid_path",
                       f"The path has {len(value)} characters; a path has at most {MAX_PATH_LENGTH}.")
    try:
        return format_path(parse_user_path(value))
    except InvalidSecretPath as error:
        raise ApiError(400, "invalid_path", str(error)) from None


def check_reveal_scope(key) -> None:
    if key.scopes is None or REVEAL_PERMISSION not in key.scopes:
        raise ApiError(
            403, "scope_required",
            f"Revealing a secret with an API key needs a key whose scopes name {REVEAL_PERMISSION} explicitly; "
            "a key without scopes does not qualify. Create such a key, or reveal the value on the web page.",
        )


class CredentialListView(ApiView):
    @requires("source.view")
    def get(self, request):
        query_params(request, allowed=set())
        store = get_store()
        try:
            groups, connections = masked_listing(store)
        except CredentialsError as error:
            raise unreadable(error) from None
        return {
            "file": store.display_name,
            "groups": groups,
            "oauth_sources": [oauth_source_summary(connection) for connection in connections],
        }


class CredentialRevealView(ApiView):
    @requires(REVEAL_PERMISSION)
    @sensitive_variables("value")
    def post(self, request):
        query_params(request, allowed=set())
        data = request.json
        key = request.api_key
        check_fields(data, {"path"} if key is not None else {"path", *CREDENTIAL_FIELDS}, required={"path"})
        path = parse_path(data["path"])

        if key is not None:
            check_reveal_scope(key)
        else:
            rejection = require_reauthentication(request, data, "Revealing a secret")
            if rejection is not None:
                return rejection

        try:
            value = reveal_secret(path, actor=request.user, request=request)
        except SecretNotFound as error:
            raise ApiError(404, "not_found", str(error)) from None
        except InvalidSecretPath as error:
            raise ApiError(400, "invalid_path", str(error)) from None
        except CredentialsError as error:
            raise unreadable(error) from None
        return {"path": path, "value": value}
