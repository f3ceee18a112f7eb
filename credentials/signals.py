from django.dispatch import Signal

# No signal argument is a secret value: receivers get the dotted path or the
# source name. The request is passed for the client IP and user agent. Its
# POST body may contain the value that was set, so receivers must not record
# the body.

# A value was written to secrets.toml.
# Arguments: path (dotted path), created (True for a new key), actor (user or None), request (or None).
secret_set = Signal()

# A value or a whole table was removed from secrets.toml.
# Arguments: path (dotted path), actor (user or None), request (or None).
secret_deleted = Signal()

# A user was shown a secret value unmasked.
# Arguments: path (dotted path), actor (user), request.
secret_revealed = Signal()

# Google OAuth credentials of a data source were saved.
# Arguments: source (name under [sources]), account (email or ""), scopes (list), actor (user or None),
# request (or None).
oauth_token_stored = Signal()

# A data source's access token was renewed with its refresh token.
# Arguments: source, expires_at (aware datetime), refresh_token_rotated (True when the provider sent a new one).
oauth_token_refreshed = Signal()

# Renewing an access token failed.
# Arguments: source, error (OAuth error code or "http_<status>"/"network"), permanent (True when the
# source must be reconnected or reconfigured; False for errors that may pass).
oauth_token_refresh_failed = Signal()

# A data source's refresh token was revoked (or found already invalid) and removed.
# Arguments: source, revoked_at_provider (False when the provider no longer knew the token),
# actor (user or None), request (or None).
oauth_token_revoked = Signal()

# Django's SECRET_KEY was rotated or its fallbacks dropped.
# Arguments: phase ("rotated" or "finished"), fallbacks (count kept after the step).
secret_key_rotated = Signal()

# The encryption key list was rotated. Arguments: counts (dict of store name -> items re-encrypted).
encryption_key_rotated = Signal()
