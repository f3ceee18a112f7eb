"""The encryption keys for data Dango encrypts at rest (backup archives, credential backups).

The key file ``.dango/encryption_keys`` holds one Fernet key per line: the
first key encrypts, every key decrypts (cryptography's MultiFernet). Rotation
puts a new key first, re-encrypts every stored item with it, and then drops
the old keys, so an old key on its own can no longer read anything.
"""

import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from dango_site.env import write_private_file

logger = logging.getLogger("credentials")

KEY_FILE_NAME = "encryption_keys"


class DecryptionError(Exception):
    """Data is damaged, was tampered with, or was encrypted with a key not in the key list."""


class RotationError(Exception):
    """Some stored data could not be re-encrypted, so the old keys were kept."""


def key_file_path() -> Path:
    return Path(getattr(settings, "DANGO_ENCRYPTION_KEY_FILE", Path(settings.STATE_DIR) / KEY_FILE_NAME))


def parse_keys(text: str, source: str) -> list[bytes]:
    keys = []
    for number, line in enumerate(text.splitlines(), start=1):
        value = line.strip()
        if not value or value.startswith("#"):
            continue
        try:
            Fernet(value.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise ImproperlyConfigured(
                f"Line {number} of {source} is not a valid Fernet key (32 url-safe base64-encoded bytes). "
                "Restore the file from a backup, or generate a new key list with "
                "'manage.py rotate_keys encryption' if nothing is encrypted yet."
            ) from None
        keys.append(value.encode("ascii"))
    if not keys:
        raise ImproperlyConfigured(f"{source} contains no encryption key. Restore it from a backup.")
    return keys


def load_keys(create: bool = True, path: Path | None = None) -> list[bytes]:
    """Read the key list; create it with one new key when missing and ``create`` is true."""
    path = path or key_file_path()
    if not path.exists():
        if not create:
            raise ImproperlyConfigured(f"The encryption key file {path} is missing. Restore it from a backup.")
        try:
            write_private_file(path, Fernet.generate_key().decode("ascii") + "\n")
            logger.info("Created the encryption key file %s", path)
        except FileExistsError:
            pass
    try:
        text = path.read_text(encoding="ascii")
    except (PermissionError, UnicodeDecodeError) as error:
        raise ImproperlyConfigured(
            f"Cannot read the encryption key file {path} ({error.__class__.__name__}). "
            "Make it readable by the user running Dango, with mode 0600."
        ) from None
    return parse_keys(text, str(path))


def write_keys(keys: Iterable[bytes], path: Path | None = None) -> None:
    """Replace the key file atomically, mode 0600."""
    path = path or key_file_path()
    temporary = path.with_name(path.name + ".tmp")
    if temporary.exists():
        temporary.unlink()
    write_private_file(temporary, "".join(key.decode("ascii") + "\n" for key in keys))
    os.replace(temporary, path)


def get_cipher(keys: list[bytes] | None = None) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in (keys or load_keys())])


def encrypt(data: bytes, keys: list[bytes] | None = None) -> bytes:
    return get_cipher(keys).encrypt(data)


def decrypt(token: bytes, keys: list[bytes] | None = None) -> bytes:
    try:
        return get_cipher(keys).decrypt(token)
    except InvalidToken:
        raise DecryptionError(
            "The data could not be decrypted: it is damaged, was changed, or was encrypted with a key "
            "that is not in the key list."
        ) from None


# Stores of encrypted data register here, so rotation re-encrypts all of them.
# Each callable receives a function that re-encrypts one token and returns the
# number of items it rewrote.
ReEncryptor = Callable[[Callable[[bytes], bytes]], int]
_re_encryptors: dict[str, ReEncryptor] = {}


def register_re_encryptor(name: str, function: ReEncryptor) -> None:
    if name in _re_encryptors and _re_encryptors[name] is not function:
        raise ValueError(f"A re-encryptor named {name!r} is already registered.")
    _re_encryptors[name] = function


def registered_stores() -> list[str]:
    return sorted(_re_encryptors)


def rotate(dry_run: bool = False) -> dict[str, int]:
    """Encrypt everything with a new key, then retire the old keys.

    The new key is written first (new, old…), so a crash mid-way leaves data
    that every key in the file can still read. Returns how many items each
    store re-encrypted.
    """
    old_keys = load_keys()
    new_key = Fernet.generate_key()
    if dry_run:
        return {name: 0 for name in _re_encryptors}

    write_keys([new_key, *old_keys])
    cipher = get_cipher([new_key, *old_keys])

    def re_encrypt(token: bytes) -> bytes:
        try:
            return cipher.rotate(token)
        except InvalidToken:
            raise DecryptionError("an item could not be decrypted with any key in the list") from None

    counts = {}
    failures = []
    for name, function in sorted(_re_encryptors.items()):
        try:
            counts[name] = function(re_encrypt)
        except DecryptionError as error:
            failures.append(f"{name}: {error}")
            continue
        logger.info("Re-encrypted %s item(s) in %s", counts[name], name)
    if failures:
        # Retiring the old keys now would make the failed items unreadable for good.
        raise RotationError(
            "The new key was added but the old keys were kept because re-encryption failed for "
            + "; ".join(failures)
            + ". Fix or remove those items, then run the rotation again."
        )
    write_keys([new_key])
    return counts
