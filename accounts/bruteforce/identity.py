"""The identifier a sign-in attempt is counted under.

Every path that checks a password names the account differently: allauth
passes ``email`` to ``authenticate()``, Django's own login forms (the
admin's, which this project replaces by a redirect) pass ``username`` and
allauth's form field is ``login``. They all become one
normalised identifier, so ``Alice@Example.com`` and `` alice@example.com``
share one counter and a case variant cannot dodge the lockout.
"""

import hashlib

from django.http import HttpRequest

# Credential and POST keys that carry the identifier, in order of preference.
CREDENTIAL_KEYS = ("email", "username", "login")
POST_KEYS = ("login", "username", "email")

# Longest identifier stored as it is, because axes' AccessAttempt.username has max_length 255.
MAX_IDENTIFIER_LENGTH = 255


def normalize_identifier(value: object) -> str:
    """Strip and lower-case ``value``; replace one that is too long to store by its SHA-256.

    Forms reject overlong emails before a password is checked, but other
    callers may not, and truncating would merge distinct identifiers.
    """
    text = str(value or "").strip().lower()
    if len(text) > MAX_IDENTIFIER_LENGTH:
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    return text


def get_login_identifier(request: HttpRequest | None, credentials: dict | None = None) -> str:
    """Return the normalised identifier of a sign-in attempt ("" when there is none).

    This is the project's ``AXES_USERNAME_CALLABLE``. It reads the credentials
    given to ``authenticate()`` first and falls back to the POSTed form.
    """
    for key in CREDENTIAL_KEYS:
        value = (credentials or {}).get(key)
        if value:
            return normalize_identifier(value)
    if request is not None and request.method == "POST":
        for key in POST_KEYS:
            value = request.POST.get(key)
            if value:
                return normalize_identifier(value)
    return ""
