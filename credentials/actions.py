"""User actions on secrets (set, delete, reveal), each announced by a signal.

Views and commands call these functions instead of the store, so the checks
on user input and the events are the same on every path. Signals carry the
dotted path, never the value.
"""

import logging

from django.views.decorators.debug import sensitive_variables

from credentials import signals
from credentials.conf import app_settings
from credentials.document import as_path, render_value
from credentials.exceptions import CredentialsError, InvalidSecretPath
from credentials.paths import Path, format_path
from credentials.store import RESERVED_TABLE, SecretsStore

logger = logging.getLogger("credentials")

# Large enough for a service-account private key in one value.
MAX_VALUE_LENGTH = 64 * 1024


def get_store() -> SecretsStore:
    return SecretsStore(app_settings.PROJECT_ROOT, lock_timeout=app_settings.LOCK_TIMEOUT)


def parse_user_path(path: "str | Path") -> Path:
    """Parse a path a user typed and reject the ones users may not write."""
    key_path = as_path(path)
    if key_path[0] == RESERVED_TABLE:
        raise InvalidSecretPath(
            f"{format_path(key_path)} is in the [{RESERVED_TABLE}] table, which Dango keeps for its own "
            "OAuth metadata. Use the source's Connect or Disconnect action instead."
        )
    if len(key_path) < 2:
        raise InvalidSecretPath(
            f"{format_path(key_path)} names no table. Give the table and the key, for example sources.stripe.api_key."
        )
    return key_path


def _actor_id(actor) -> str:
    return f"user {actor.pk}" if actor is not None else "the command line"


@sensitive_variables("value")
def set_secret(path: "str | Path", value: str, actor=None, request=None) -> bool:
    """Write ``value`` at ``path`` and send secret_set; return True when the key is new."""
    key_path = parse_user_path(path)
    if not isinstance(value, str) or not value:
        raise CredentialsError("The value is empty. Enter the secret to store, or delete the key instead.")
    if len(value) > MAX_VALUE_LENGTH:
        raise CredentialsError(
            f"The value has {len(value)} characters; the limit is {MAX_VALUE_LENGTH}. Check what was pasted."
        )
    created = get_store().set(key_path, value)
    dotted = format_path(key_path)
    logger.info("%s %s in secrets.toml (by %s)", "Added" if created else "Changed", dotted, _actor_id(actor))
    signals.secret_set.send(sender=SecretsStore, path=dotted, created=created, actor=actor, request=request)
    return created


def delete_secret(path: "str | Path", actor=None, request=None) -> None:
    key_path = parse_user_path(path)
    get_store().delete(key_path)
    dotted = format_path(key_path)
    logger.info("Deleted %s from secrets.toml (by %s)", dotted, _actor_id(actor))
    signals.secret_deleted.send(sender=SecretsStore, path=dotted, actor=actor, request=request)


def reveal_secret(path: "str | Path", actor, request=None) -> str:
    """Return the value at ``path`` as text and send secret_revealed.

    Permission and re-confirmation checks belong to the caller.
    """
    key_path = parse_user_path(path)
    value = get_store().get(key_path)
    if isinstance(value, dict):
        raise InvalidSecretPath(f"{format_path(key_path)} is a table; reveal one key inside it.")
    dotted = format_path(key_path)
    logger.info("Revealed %s to %s", dotted, _actor_id(actor))
    signals.secret_revealed.send(sender=SecretsStore, path=dotted, actor=actor, request=request)
    return value if isinstance(value, str) else _toml_text(value)


def _toml_text(value) -> str:
    try:
        return render_value(value)
    except TypeError:
        return str(value)
