"""The API key format and its hash.

A key is ``dango_ak_`` followed by 32 random bytes in URL-safe base64
(43 characters). Only the SHA-256 of the whole key is stored. A plain,
unsalted hash is enough here because the key carries 256 bits of entropy:
there is no dictionary to attack, so a slow or peppered hash would add cost
without adding safety. It also keeps keys valid across a SECRET_KEY rotation,
which an HMAC keyed on SECRET_KEY would not.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass

KEY_PREFIX = "dango_ak_"
RANDOM_BYTES = 32
# token_urlsafe(32) yields 43 characters of the URL-safe base64 alphabet.
RANDOM_LENGTH = 43
# The display prefix keeps this many random characters after ``dango_ak_``:
# enough to tell a user's keys apart, far too few to help guess the rest.
DISPLAY_RANDOM_LENGTH = 8

KEY_PATTERN = re.compile(rf"\A{KEY_PREFIX}[A-Za-z0-9_-]{{{RANDOM_LENGTH}}}\Z")


@dataclass(frozen=True)
class GeneratedKey:
    raw: str
    prefix: str
    hash: str


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


def display_prefix(raw: str) -> str:
    return raw[: len(KEY_PREFIX) + DISPLAY_RANDOM_LENGTH]


def is_well_formed(raw: str) -> bool:
    return bool(KEY_PATTERN.match(raw))


def generate_key() -> GeneratedKey:
    raw = KEY_PREFIX + secrets.token_urlsafe(RANDOM_BYTES)
    return GeneratedKey(raw=raw, prefix=display_prefix(raw), hash=hash_key(raw))
