"""TOTP secrets for enrolment: generation, display, QR code, code matching.

The secret of an unfinished enrolment never reaches the database; it lives
in the session until a correct code confirms it (see ``devices.enable``).
"""

import re
import time
from base64 import b32encode
from binascii import unhexlify

import qrcode
import qrcode.image.svg
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

# RFC 6238 defaults, which every authenticator app supports.
STEP = 30
DIGITS = 6
TOLERANCE = 1  # steps before and after the current one
SECRET_BYTES = 20

_SEPARATORS = re.compile(r"[\s\-]+")
_TOTP_CODE = re.compile(r"[0-9]{%d}" % DIGITS)


def new_secret() -> str:
    """Return a random 160-bit secret as hex, the form TOTPDevice.key stores."""
    return random_hex(SECRET_BYTES)


def secret_for_display(key_hex: str) -> str:
    """Return the secret in base32 groups of four, as apps expect for manual entry."""
    encoded = b32encode(unhexlify(key_hex)).decode("ascii").rstrip("=")
    return " ".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def provisioning_uri(user, key_hex: str) -> str:
    """Return the ``otpauth://`` URI for ``key_hex``; it contains the secret, so never log it."""
    return TOTPDevice(user=user, key=key_hex, step=STEP, digits=DIGITS).config_url


def qr_code_svg(data: str) -> str:
    """Render ``data`` as an inline SVG element (no external image service, no style attributes)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=8)
    return image.to_string(encoding="unicode")


def normalize_totp_code(value) -> int | None:
    """Return a TOTP code as an int, or None when ``value`` is not six ASCII digits.

    Spaces and dashes are ignored. The ASCII check matters because int()
    also accepts other Unicode digits and signs.
    """
    if not isinstance(value, str):
        return None
    compact = _SEPARATORS.sub("", value)
    return int(compact) if _TOTP_CODE.fullmatch(compact) else None


def match_time_step(key_hex: str, code: int, at: float | None = None, min_step: int = 0) -> int | None:
    """Return the time step at which ``code`` is valid for ``key_hex``, within the tolerance.

    Steps below ``min_step`` never match, which is how an accepted code is
    kept from being accepted again.
    """
    totp = TOTP(unhexlify(key_hex), step=STEP, digits=DIGITS)
    totp.time = time.time() if at is None else at
    if totp.verify(code, tolerance=TOLERANCE, min_t=min_step):
        return totp.t()
    return None
