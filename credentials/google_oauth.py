"""Google OAuth tokens of data sources: store, refresh ahead of expiry, revoke.

Credentials and metadata are kept as ``credentials.oauth_state`` describes.
A refresh runs under a per-source file lock and re-reads the file once it
holds it, so when several processes need a new token at the same moment
only the first one requests a token from Google and the others use its result.

Errors follow Google's token endpoint: ``invalid_grant`` (revoked, expired
or unused for six months) marks the source as needing reconnection and is
never retried; ``invalid_client`` marks the client credentials as wrong;
429, 5xx and network errors are retried with back-off.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from credentials import files, signals
from credentials.conf import app_settings
from credentials.exceptions import CredentialsError, SecretNotFound
from credentials.oauth_http import RetryPolicy, TokenEndpointError, post_form
from credentials.oauth_state import (
    PROVIDER,
    Status,
    TokenState,
    credentials_path,
    metadata_path,
    oauth_source_names,
    validate_source_name,
)
from credentials.store import SecretsStore

logger = logging.getLogger("credentials")

# Used when a token reply has no expires_in (RFC 6749 makes it optional;
# Google always sends it). Google's access tokens last one hour.
DEFAULT_EXPIRES_IN = 3600


class OAuthSourceError(CredentialsError):
    pass


class SourceNotConnected(OAuthSourceError):
    pass


class ReconnectRequired(OAuthSourceError):
    """The source's grant is gone or its client is misconfigured; retrying cannot help."""


class TokenRefreshError(OAuthSourceError):
    """Google could not be reached or kept failing; a later try may succeed."""


class RevokeFailed(OAuthSourceError):
    pass


def _now() -> datetime:
    return timezone.now().replace(microsecond=0)


def _get_store(store: SecretsStore | None) -> SecretsStore:
    from credentials.actions import get_store

    return store or get_store()


def _retry_policy() -> RetryPolicy:
    return RetryPolicy(
        attempts=app_settings.REFRESH_ATTEMPTS,
        backoff=app_settings.REFRESH_BACKOFF,
        backoff_max=app_settings.REFRESH_BACKOFF_MAX,
        timeout=app_settings.HTTP_TIMEOUT,
    )


def load_state(source: str, store: SecretsStore | None = None) -> TokenState:
    validate_source_name(source)
    data = _get_store(store).load()
    if source not in oauth_source_names(data):
        raise SourceNotConnected(
            f"The source {source} is not connected to Google. Connect it first; its token is stored at "
            f"sources.{source}.credentials."
        )
    return TokenState.from_data(data, source)


def store_google_token(
    source: str,
    *,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    account: str = "",
    scopes: list[str] | tuple[str, ...] = (),
    access_token: str = "",
    expires_in: int | None = None,
    actor=None,
    request=None,
    store: SecretsStore | None = None,
) -> None:
    """Save a source's Google OAuth credentials where dlt reads them, plus Dango's metadata."""
    validate_source_name(source)
    for name, value in (("client_id", client_id), ("client_secret", client_secret), ("refresh_token", refresh_token)):
        if not isinstance(value, str) or not value.strip():
            raise OAuthSourceError(f"The {name} for {source} is empty; the Google consent flow must supply it.")
    now = _now()
    with _get_store(store).edit() as document:
        for key, value in (("client_id", client_id), ("client_secret", client_secret), ("refresh_token", refresh_token)):
            document.set(credentials_path(source) + (key,), value)
        meta = metadata_path(source)
        document.set(meta + ("provider",), PROVIDER)
        document.set(meta + ("account",), account)
        document.set(meta + ("scopes",), list(scopes))
        document.set(meta + ("status",), Status.CONNECTED)
        document.set(meta + ("connected_at",), now)
        if access_token:
            document.set(meta + ("access_token",), access_token)
            document.set(meta + ("expires_at",), now + timedelta(seconds=expires_in or DEFAULT_EXPIRES_IN))
        else:
            _delete_if_present(document, meta + ("access_token",))
            _delete_if_present(document, meta + ("expires_at",))
        _delete_if_present(document, meta + ("last_error",))
        _delete_if_present(document, meta + ("last_error_at",))
    logger.info("Stored Google OAuth credentials of source %s", source)
    signals.oauth_token_stored.send(
        sender=SecretsStore, source=source, account=account, scopes=list(scopes), actor=actor, request=request
    )


def _delete_if_present(document, path: tuple[str, ...]) -> None:
    try:
        document.delete(path)
    except SecretNotFound:
        pass


def get_access_token(source: str, *, store: SecretsStore | None = None) -> str:
    """Return a valid access token for ``source``, refreshing it when it expires within the margin.

    Raises SourceNotConnected, ReconnectRequired (reconnect or fix the client,
    no retry helps) or TokenRefreshError (Google kept failing).
    """
    store = _get_store(store)
    margin = app_settings.REFRESH_MARGIN
    state = load_state(source, store)
    _raise_if_disabled(state)
    if state.is_fresh(_now(), margin):
        return state.access_token

    with files.locked(store.path, app_settings.REFRESH_LOCK_TIMEOUT, purpose=f"oauth refresh {source}"):
        # Another process may have refreshed while this one waited.
        state = load_state(source, store)
        _raise_if_disabled(state)
        if state.is_fresh(_now(), margin):
            return state.access_token
        return _refresh(store, state)


def _raise_if_disabled(state: TokenState) -> None:
    error = disabled_error(state)
    if error is not None:
        raise error


def disabled_error(state: TokenState) -> OAuthSourceError | None:
    """Return the error that keeps ``state`` from being refreshed, or None when it can be."""
    if state.status == Status.RECONNECT_REQUIRED:
        return ReconnectRequired(
            f"Google no longer accepts the refresh token of {state.source} (it was revoked or expired). "
            "Reconnect the source to grant access again."
        )
    if state.status == Status.INVALID_CLIENT:
        return ReconnectRequired(
            f"Google rejects the client_id/client_secret of {state.source}. Correct them in "
            f"sources.{state.source}.credentials and reconnect the source."
        )
    if state.missing_keys:
        return SourceNotConnected(
            f"sources.{state.source}.credentials lacks {', '.join(state.missing_keys)}; reconnect the source."
        )
    return None


def _refresh(store: SecretsStore, state: TokenState) -> str:
    form = {
        "client_id": state.client_id,
        "client_secret": state.client_secret,
        "refresh_token": state.refresh_token,
        "grant_type": "refresh_token",
    }
    try:
        reply = post_form(app_settings.GOOGLE_TOKEN_URL, form, _retry_policy())
    except TokenEndpointError as error:
        raise _record_failure(store, state, error) from None

    access_token = reply.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        error = TokenEndpointError("invalid_response", "the reply has no access_token", 200, transient=False)
        raise _record_failure(store, state, error)
    expires_in = reply.get("expires_in")
    if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in <= 0:
        expires_in = DEFAULT_EXPIRES_IN
    new_refresh_token = reply.get("refresh_token")
    rotated = isinstance(new_refresh_token, str) and bool(new_refresh_token) and new_refresh_token != state.refresh_token

    now = _now()
    expires_at = now + timedelta(seconds=expires_in)
    meta = metadata_path(state.source)
    with store.edit() as document:
        if not _same_grant(document.data, state):
            logger.warning("Source %s was reconnected or disconnected during a refresh; not saving the token", state.source)
            return access_token
        document.set(meta + ("access_token",), access_token)
        document.set(meta + ("expires_at",), expires_at)
        document.set(meta + ("last_refresh_at",), now)
        document.set(meta + ("status",), Status.CONNECTED)
        scope = reply.get("scope")
        if isinstance(scope, str) and scope.strip():
            document.set(meta + ("scopes",), scope.split())
        _delete_if_present(document, meta + ("last_error",))
        _delete_if_present(document, meta + ("last_error_at",))
        if rotated:
            document.set(credentials_path(state.source) + ("refresh_token",), new_refresh_token)
    logger.info("Refreshed the Google access token of source %s; it expires at %s", state.source, expires_at.isoformat())
    signals.oauth_token_refreshed.send(
        sender=SecretsStore, source=state.source, expires_at=expires_at, refresh_token_rotated=rotated
    )
    return access_token


def _same_grant(data: dict[str, Any], state: TokenState) -> bool:
    if state.source not in oauth_source_names(data):
        return False
    return TokenState.from_data(data, state.source).refresh_token == state.refresh_token


def _record_failure(store: SecretsStore, state: TokenState, error: TokenEndpointError) -> OAuthSourceError:
    """Save the failure in the metadata, announce it and return the exception to raise."""
    if error.code == "invalid_grant":
        status = Status.RECONNECT_REQUIRED
    elif error.code in ("invalid_client", "unauthorized_client"):
        status = Status.INVALID_CLIENT
    else:
        status = Status.CONNECTED
    permanent = status != Status.CONNECTED
    meta = metadata_path(state.source)
    with store.edit() as document:
        if _same_grant(document.data, state):
            document.set(meta + ("status",), status)
            document.set(meta + ("last_error",), error.code)
            document.set(meta + ("last_error_at",), _now())
    logger.warning("Refreshing the Google access token of source %s failed: %s", state.source, error)
    signals.oauth_token_refresh_failed.send(
        sender=SecretsStore, source=state.source, error=error.code, permanent=permanent
    )
    if permanent:
        state.status = status
        return disabled_error(state)
    return TokenRefreshError(
        f"Refreshing the Google access token of {state.source} failed: {error}. "
        "Dango retried with back-off; try again later."
    )


def disconnect(source: str, *, actor=None, request=None, store: SecretsStore | None = None) -> bool:
    """Revoke the source's token at Google and remove it; return False when Google no longer knew it.

    The client_id and client_secret stay, so the source can be reconnected.
    Raises RevokeFailed, keeping the token, when Google cannot be reached.
    """
    store = _get_store(store)
    with files.locked(store.path, app_settings.REFRESH_LOCK_TIMEOUT, purpose=f"oauth refresh {source}"):
        state = load_state(source, store)
        revoked_at_provider = True
        token = state.refresh_token or state.access_token
        if token:
            try:
                post_form(app_settings.GOOGLE_REVOKE_URL, {"token": token}, _retry_policy())
            except TokenEndpointError as error:
                if error.transient or error.status is None:
                    raise RevokeFailed(
                        f"Google did not confirm revoking the token of {source} ({error}); it is still stored. "
                        "Try disconnecting again later."
                    ) from None
                # A 400 means Google no longer accepts the token (already revoked or expired).
                revoked_at_provider = False
        with store.edit() as document:
            _delete_if_present(document, credentials_path(source) + ("refresh_token",))
            _delete_if_present(document, metadata_path(source))
    logger.info("Disconnected source %s from Google (revoked at Google: %s)", source, revoked_at_provider)
    signals.oauth_token_revoked.send(
        sender=SecretsStore, source=source, revoked_at_provider=revoked_at_provider, actor=actor, request=request
    )
    return revoked_at_provider
