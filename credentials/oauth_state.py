"""The record of a data source's Google OAuth connection in secrets.toml.

dlt reads ``client_id``, ``client_secret`` and ``refresh_token`` from
``[sources.<source>.credentials]``. Dango keeps the rest in the reserved
table ``[dango.oauth.<source>]`` of the same file: the current access token,
its expiry, the account and scopes, the last refresh and a status.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from credentials.exceptions import InvalidSecretPath
from credentials.paths import BARE_KEY
from credentials.store import RESERVED_TABLE

PROVIDER = "google"
CREDENTIAL_KEYS = ("client_id", "client_secret", "refresh_token")


class Status:
    CONNECTED = "connected"
    RECONNECT_REQUIRED = "reconnect_required"
    INVALID_CLIENT = "invalid_client"


def credentials_path(source: str) -> tuple[str, ...]:
    return ("sources", source, "credentials")


def metadata_path(source: str) -> tuple[str, ...]:
    return (RESERVED_TABLE, "oauth", source)


def validate_source_name(source: str) -> str:
    if not isinstance(source, str) or not BARE_KEY.fullmatch(source):
        raise InvalidSecretPath(
            f"{source!r} is not a valid source name; use letters, digits, '_' and '-' (for example google_sheets)."
        )
    return source


def oauth_source_names(data: dict[str, Any]) -> list[str]:
    metadata = data.get(RESERVED_TABLE, {}).get("oauth", {})
    return [name for name, table in metadata.items() if isinstance(table, dict)] if isinstance(metadata, dict) else []


@dataclass
class TokenState:
    """The stored state of one source's Google token, secrets included."""

    source: str
    client_id: str = field(repr=False)
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_token: str = field(repr=False)
    expires_at: datetime | None
    last_refresh_at: datetime | None
    account: str
    scopes: list[str]
    status: str
    last_error: str
    last_error_at: datetime | None

    @classmethod
    def from_data(cls, data: dict[str, Any], source: str) -> "TokenState":
        credentials = data.get("sources", {}).get(source, {}).get("credentials", {})
        metadata = data.get(RESERVED_TABLE, {}).get("oauth", {}).get(source, {})
        if not isinstance(credentials, dict) or not isinstance(metadata, dict):
            raise SourceNotConnected(f"The source {source} has no Google OAuth credentials table.")

        def text(table: dict, key: str) -> str:
            value = table.get(key, "")
            return value if isinstance(value, str) else ""

        def moment(key: str) -> datetime | None:
            value = metadata.get(key)
            return value if isinstance(value, datetime) and value.tzinfo is not None else None

        scopes = metadata.get("scopes", [])
        return cls(
            source=source,
            client_id=text(credentials, "client_id"),
            client_secret=text(credentials, "client_secret"),
            refresh_token=text(credentials, "refresh_token"),
            access_token=text(metadata, "access_token"),
            expires_at=moment("expires_at"),
            last_refresh_at=moment("last_refresh_at"),
            account=text(metadata, "account"),
            scopes=[scope for scope in scopes if isinstance(scope, str)] if isinstance(scopes, list) else [],
            status=text(metadata, "status") or Status.CONNECTED,
            last_error=text(metadata, "last_error"),
            last_error_at=moment("last_error_at"),
        )

    @property
    def missing_keys(self) -> list[str]:
        return [key for key in CREDENTIAL_KEYS if not getattr(self, key)]

    def summary(self) -> "TokenSummary":
        """Return the parts that may be shown: everything except tokens and the client secret."""
        return TokenSummary(
            source=self.source,
            account=self.account,
            scopes=list(self.scopes),
            status=self.status,
            expires_at=self.expires_at,
            last_refresh_at=self.last_refresh_at,
            last_error=self.last_error,
            last_error_at=self.last_error_at,
            missing_keys=self.missing_keys,
        )

    def is_fresh(self, now: datetime, margin: int) -> bool:
        """Tell whether the access token stays valid for more than ``margin`` seconds."""
        return bool(self.access_token and self.expires_at and self.expires_at - timedelta(seconds=margin) > now)


@dataclass(frozen=True)
class TokenSummary:
    """A source's Google connection as shown on screens and in reports."""

    source: str
    account: str
    scopes: list[str]
    status: str
    expires_at: datetime | None
    last_refresh_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    missing_keys: list[str]
