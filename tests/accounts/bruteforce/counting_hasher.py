"""A password hasher that records every hash it computes, for tests that count password checks.

Each call appends one line, the first 16 hex digits of the SHA-256 of the
hashed string, to the file named by DANGO_TEST_HASHER_LOG. Appends of one
short line are atomic, so threads and server processes can share the file.
Without the variable it hashes and records nothing.
"""

import hashlib
import os

from tests.hashers import FastArgon2PasswordHasher

LOG_VARIABLE = "DANGO_TEST_HASHER_LOG"


def password_digest(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()[:16]


def _record(password) -> None:
    path = os.environ.get(LOG_VARIABLE)
    if not path:
        return
    line = (password_digest(str(password)) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


class CountingArgon2PasswordHasher(FastArgon2PasswordHasher):
    """Test-sized Argon2 that records each encode() and verify() call."""

    def encode(self, password, salt):
        _record(password)
        return super().encode(password, salt)

    def verify(self, password, encoded):
        _record(password)
        return super().verify(password, encoded)


def with_counting_hasher(hashers: list[str]) -> list[str]:
    """Return ``hashers`` with the counting hasher first and as the only argon2 one.

    Django verifies a hash with the last listed hasher of its algorithm, so
    another argon2 hasher would check passwords without counting them.
    """
    others = [path for path in hashers if not path.endswith("Argon2PasswordHasher")]
    return [f"{__name__}.CountingArgon2PasswordHasher", *others]
