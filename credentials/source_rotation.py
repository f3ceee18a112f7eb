"""Rotation of one data-source secret with a way back.

Rotating writes the new value to secrets.toml and keeps the previous value,
encrypted with the project's key list, in ``.dango/credential_backups``. The
kept value is deleted when the operator confirms that the source works with
the new value, or written back when the operator rolls back. The backups
file is one Fernet token over a JSON object keyed by dotted path, and it is
re-encrypted when the key list rotates.
"""

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from credentials import keyring
from credentials.actions import get_store, parse_user_path, set_secret
from credentials.exceptions import CredentialsError
from credentials.paths import format_path
from dango_site.env import write_private_file

BACKUPS_FILE_NAME = "credential_backups"


class RotationStateError(CredentialsError):
    """The rotation step does not fit the recorded state (nothing pending, already pending)."""


def backups_path() -> Path:
    return Path(settings.STATE_DIR) / BACKUPS_FILE_NAME


@sensitive_variables("plain")
def _load() -> dict:
    path = backups_path()
    if not path.exists():
        return {}
    try:
        plain = keyring.decrypt(path.read_bytes().strip())
    except keyring.DecryptionError:
        raise CredentialsError(
            f"{path} could not be decrypted with the key list in {keyring.key_file_path()}. Restore both files "
            "from the same backup."
        ) from None
    return json.loads(plain)


@sensitive_variables("entries", "plain")
def _save(entries: dict) -> None:
    path = backups_path()
    if not entries:
        if path.exists():
            path.unlink()
        return
    plain = json.dumps(entries, sort_keys=True).encode("utf-8")
    _write_token(path, keyring.encrypt(plain))


def _write_token(path: Path, token: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    if temporary.exists():
        temporary.unlink()
    write_private_file(temporary, token.decode("ascii"))
    os.replace(temporary, path)


def pending_rotations() -> dict[str, str]:
    """Return the dotted paths with a kept previous value, and when each was rotated."""
    return {path: entry["rotated_at"] for path, entry in _load().items()}


@sensitive_variables("new_value", "old_value", "entries")
def rotate_source_secret(path: str, new_value: str, actor=None, request=None) -> str:
    """Write ``new_value`` at ``path`` and keep the old value; return the dotted path."""
    key_path = parse_user_path(path)
    dotted = format_path(key_path)
    entries = _load()
    if dotted in entries:
        raise RotationStateError(
            f"{dotted} already has a rotation waiting for confirmation. Run 'rotate_keys source {dotted} --confirm' "
            f"or '--rollback' first."
        )
    # get() raises a CredentialsError naming the path when nothing is stored there.
    old_value = get_store().get(key_path)
    if not isinstance(old_value, str):
        raise RotationStateError(f"{dotted} is a table or list, not a single value; rotate its keys one by one.")
    if old_value == new_value:
        raise RotationStateError(f"The new value of {dotted} is the same as the current one; nothing was changed.")

    # The backup is written before the new value, so a crash in between
    # leaves the old value both in the file and in the backup.
    entries[dotted] = {"value": old_value, "rotated_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    _save(entries)
    set_secret(key_path, new_value, actor=actor, request=request)
    return dotted


def confirm_rotation(path: str) -> str:
    dotted = format_path(parse_user_path(path))
    entries = _load()
    if dotted not in entries:
        raise RotationStateError(f"No rotation of {dotted} is waiting for confirmation.")
    del entries[dotted]
    _save(entries)
    return dotted


@sensitive_variables("entries")
def rollback_rotation(path: str, actor=None, request=None) -> str:
    key_path = parse_user_path(path)
    dotted = format_path(key_path)
    entries = _load()
    if dotted not in entries:
        raise RotationStateError(f"No rotation of {dotted} is waiting, so there is no previous value to restore.")
    set_secret(key_path, entries[dotted]["value"], actor=actor, request=request)
    del entries[dotted]
    _save(entries)
    return dotted


def re_encrypt_backups(re_encrypt) -> int:
    path = backups_path()
    if not path.exists():
        return 0
    _write_token(path, re_encrypt(path.read_bytes().strip()))
    return 1


keyring.register_re_encryptor("credential backups", re_encrypt_backups)
