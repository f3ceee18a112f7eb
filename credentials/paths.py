"""Dotted paths into secrets.toml, such as ``sources.stripe.api_key``.

A path is written like a TOML key: bare segments (letters, digits, ``_`` and
``-``) joined by dots, and any other segment in double or single quotes
(``sources."my.source".token``). The same reader parses keys inside the
file, so a path means exactly what the equivalent TOML key means.
"""

import re

BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_WHITESPACE = " \t"

# Escapes of TOML basic strings. \e and \x are TOML 1.1 additions that
# tomlkit 0.15 reads (tomllib rejects them, so a file using them is refused).
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", "e": "\x1b", '"': '"', "\\": "\\"}
_HEX_ESCAPE_LENGTHS = {"x": 2, "u": 4, "U": 8}

Path = tuple[str, ...]


class InvalidPath(ValueError):
    """A dotted path that cannot be read as a TOML key."""


def read_key(text: str, pos: int) -> tuple[Path, int]:
    """Read a possibly dotted key starting at ``pos``; return its segments and the end position.

    Whitespace around the dots is allowed, as in TOML. Raises InvalidPath with
    the position of the first character that does not fit.
    """
    segments = []
    while True:
        segment, pos = _read_simple_key(text, pos)
        segments.append(segment)
        lookahead = _skip_whitespace(text, pos)
        if lookahead < len(text) and text[lookahead] == ".":
            pos = _skip_whitespace(text, lookahead + 1)
            continue
        return tuple(segments), pos


def _skip_whitespace(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WHITESPACE:
        pos += 1
    return pos


def _read_simple_key(text: str, pos: int) -> tuple[str, int]:
    if pos >= len(text):
        raise InvalidPath(f"a key segment is missing at character {pos + 1}")
    opener = text[pos]
    if opener == '"':
        return _read_basic_string(text, pos)
    if opener == "'":
        end = text.find("'", pos + 1)
        newline = text.find("\n", pos + 1)
        if end == -1 or (newline != -1 and newline < end):
            raise InvalidPath(f"the quoted segment starting at character {pos + 1} has no closing quote")
        return text[pos + 1 : end], end + 1
    match = BARE_KEY.match(text, pos)
    if not match:
        raise InvalidPath(
            f"unexpected {opener!r} at character {pos + 1}; unquoted segments may only contain "
            "letters, digits, '_' and '-'"
        )
    return match.group(), match.end()


def _read_basic_string(text: str, pos: int) -> tuple[str, int]:
    chars = []
    index = pos + 1
    while index < len(text):
        char = text[index]
        if char == '"':
            return "".join(chars), index + 1
        if char == "\n":
            break
        if char != "\\":
            chars.append(char)
            index += 1
            continue
        escape = text[index + 1 : index + 2]
        if escape in _ESCAPES:
            chars.append(_ESCAPES[escape])
            index += 2
        elif escape in _HEX_ESCAPE_LENGTHS:
            digits = text[index + 2 : index + 2 + _HEX_ESCAPE_LENGTHS[escape]]
            try:
                chars.append(chr(int(digits, 16)))
            except ValueError:
                raise InvalidPath(f"invalid escape \\{escape}{digits} at character {index + 1}") from None
            index += 2 + len(digits)
        else:
            raise InvalidPath(f"invalid escape \\{escape} at character {index + 1}")
    raise InvalidPath(f"the quoted segment starting at character {pos + 1} has no closing quote")


def parse_path(value: str) -> Path:
    """Split a dotted path typed by a user into its segments.

    Raises InvalidPath naming the problem, for example an empty segment or
    text after the last segment.
    """
    text = value.strip()
    if not text:
        raise InvalidPath("the path is empty; write it like sources.stripe.api_key")
    path, end = read_key(text, 0)
    if end != len(text):
        raise InvalidPath(f"unexpected {text[end]!r} at character {end + 1}; segments are joined by dots")
    return path


def format_key_segment(segment: str) -> str:
    """Write one segment as a TOML key: bare when possible, else a basic string."""
    if BARE_KEY.fullmatch(segment):
        return segment
    escaped = []
    for char in segment:
        if char in ('"', "\\"):
            escaped.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def format_path(path: Path) -> str:
    return ".".join(format_key_segment(segment) for segment in path)
