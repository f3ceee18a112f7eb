"""Recovery codes: generation, input normalisation and hashing.

A code is 12 characters of Crockford's base32 (60 random bits), shown as
``xxxx-xxxx-xxxx``. Only a salted PBKDF2-SHA256 hash is stored. The 60
random bits are what protect a leaked hash. Key stretching adds a margin,
kept small because one verification hashes every unused code of the user.
"""

import re
import secrets

from django.contrib.auth.hashers import PBKDF2PasswordHasher

CODE_LENGTH = 12
GROUP_LENGTH = 4
# Crockford's base32 leaves out I, L, O and U, so a code copied by hand has
# no look-alike characters. Normalisation maps typed look-alikes back.
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_LOOKALIKES = str.maketrans({"i": "1", "l": "1", "o": "0"})
_SEPARATORS = re.compile(r"[\s\-]+")
_VALID = re.compile(rf"[{ALPHABET}]{{{CODE_LENGTH}}}")


class RecoveryCodeHasher(PBKDF2PasswordHasher):
    """PBKDF2-SHA256 with 10,000 iterations instead of Django's 1,000,000 for passwords.

    Passwords are guessable and need the slow hash. A code with 60 random
    bits does not, and one verification hashes up to ten codes.
    """

    iterations = 10_000


def generate_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return format_code(raw)


def format_code(normalized: str) -> str:
    return "-".join(normalized[i : i + GROUP_LENGTH] for i in range(0, len(normalized), GROUP_LENGTH))


def normalize_recovery_code(value) -> str | None:
    """Return the code in stored form (lower case, no separators), or None if it cannot be one."""
    if not isinstance(value, str):
        return None
    compact = _SEPARATORS.sub("", value).lower().translate(_LOOKALIKES)
    return compact if _VALID.fullmatch(compact) else None


def hash_code(code: str) -> str:
    normalized = normalize_recovery_code(code)
    if normalized is None:
        raise ValueError(f"A recovery code has {CODE_LENGTH} characters from {ALPHABET!r}.")
    hasher = RecoveryCodeHasher()
    return hasher.encode(normalized, hasher.salt())
