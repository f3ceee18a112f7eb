"""Mask secrets for display and scrub them out of free text.

``mask_value`` is the one way a secret is shown: ``••••`` followed by its
last four characters, or ``••••`` alone when the value is too short for a
tail to be harmless.

``scrub_text`` masks, inside any text, the values it is given (normally
every value in secrets.toml). It also masks the shapes that are secrets
wherever they appear: Dango API keys, Authorization header values,
password/token/secret parameters in query strings, form bodies and JSON
(plain or URL-encoded), passwords in URLs and PEM private keys.
"""

import functools
import html
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "••••"
VISIBLE_TAIL = 4
# A tail of 4 out of at least 12 characters leaves 8 or more hidden.
MIN_LENGTH_FOR_TAIL = 12
# Shorter store values are not scrubbed from text: they match ordinary words
# and numbers too often. Such values are still never displayed unmasked.
MIN_SCRUB_LENGTH = 8

SENSITIVE_NAME = re.compile(
    r"pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key"
    r"|signature|credential|authorization|cookie|session",
    re.IGNORECASE,
)
_NAME_PART = r"[\w.\-\[\]]*?"
_NAME = (
    _NAME_PART
    + r"(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|signature)"
    + r"[\w.\-\[\]]*"
)
# A parameter name starts after a non-name character, or after an encoded
# '?', '&' or space.
_NAME_START = r"(?:(?<![\w.\-\[\]%])|(?<=%3[Ff])|(?<=%26)|(?<=%20))"


def mask_value(value: object) -> str:
    """Return ``value`` masked for display: ``••••`` plus the last 4 characters of a long string.

    Anything that is not a string (numbers, lists, tables) shows no tail,
    because the end of its text form is punctuation or part of an item.
    """
    if not isinstance(value, str) or len(value) < MIN_LENGTH_FOR_TAIL:
        return MASK
    return MASK + value[-VISIBLE_TAIL:]


def is_sensitive_name(name: str) -> bool:
    """Tell whether a parameter, variable or setting name suggests that its value is secret."""
    return bool(SENSITIVE_NAME.search(name))


def _mask_group(group: int):
    def replace(match: re.Match) -> str:
        start, end = match.span(group)
        offset = match.start()
        whole = match.group()
        return whole[: start - offset] + mask_value(match.group(group)) + whole[end - offset :]

    return replace


_SHAPES: list[tuple[re.Pattern, object]] = [
    (
        re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)", re.DOTALL),
        lambda match: MASK,
    ),
    (re.compile(r"\bdango_ak_[A-Za-z0-9_\-]{4,}"), lambda match: mask_value(match.group())),
    # Authorization header values, whatever the scheme; elsewhere, "Bearer"
    # followed by something token-like (8+ characters with a digit), so that
    # prose such as "bearer authentication" stays readable.
    (
        re.compile(
            r"\bauthorization[\"']?\s*[:=]\s*[\"']?(?:(?:bearer|basic|token|digest)\s+)?([^\s\"',;]+)",
            re.IGNORECASE,
        ),
        _mask_group(1),
    ),
    (re.compile(r"\bbearer\s+(?=[\w\-.~+/]*\d)([A-Za-z0-9\-._~+/]{8,}=*)", re.IGNORECASE), _mask_group(1)),
    # scheme://user:password@host, plain and URL-encoded.
    (re.compile(r"\b[a-z][a-z0-9+.\-]*://[^\s:/?#@]*:([^\s/?#@]+)@", re.IGNORECASE), _mask_group(1)),
    (re.compile(r"%3A%2F%2F[^\s%/?#@&]*%3A((?:(?!%40)[^\s/?#@&])+)%40", re.IGNORECASE), _mask_group(1)),
    # name=value in query strings and form bodies; '=' and '&' may be encoded
    # as %3D and %26 when a query string is nested inside another URL.
    (
        re.compile(_NAME_START + _NAME + r"(?:=|%3D)((?:(?!%26)[^&\s\"'<>,;)}])+)", re.IGNORECASE),
        _mask_group(1),
    ),
    # "name": "value" in JSON and Python reprs.
    (re.compile(r"[\"']" + _NAME + r"[\"']\s*:\s*[\"']([^\"']+)[\"']", re.IGNORECASE), _mask_group(1)),
]


def _variants(value: str) -> set[str]:
    """Return the forms a value takes when it is URL-encoded, JSON-escaped or HTML-escaped."""
    forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1], html.escape(value)}
    forms.add(html.escape(json.dumps(value)[1:-1]))
    return {form for form in forms if len(form) >= MIN_SCRUB_LENGTH}


@functools.lru_cache(maxsize=16)
def _value_pattern(values: frozenset[str]) -> tuple[re.Pattern | None, dict[str, str]]:
    replacements = {}
    for value in values:
        if len(value) < MIN_SCRUB_LENGTH:
            continue
        for form in _variants(value):
            replacements.setdefault(form, mask_value(value))
    if not replacements:
        return None, {}
    # Longest first, so a value that contains another is replaced whole.
    alternatives = sorted(replacements, key=len, reverse=True)
    return re.compile("|".join(re.escape(form) for form in alternatives)), replacements


def scrub_text(text: str, values: Iterable[str] = ()) -> str:
    """Return ``text`` with each of ``values`` and every known secret shape masked."""
    if not text:
        return text
    pattern, replacements = _value_pattern(frozenset(v for v in values if isinstance(v, str)))
    if pattern is not None:
        text = pattern.sub(lambda match: replacements[match.group()], text)
    for shape, replace in _SHAPES:
        text = shape.sub(replace, text)
    return text
