"""Read a request's JSON body and query string, rejecting anything unexpected with an ApiError."""

import json

from django.core.exceptions import RequestDataTooBig
from django.http import UnreadablePostError

from accounts.api.errors import ApiError

JSON_CONTENT_TYPE = "application/json"


def read_body(request) -> bytes:
    """Return the raw body; an unsafe request with a body must declare it as JSON."""
    try:
        body = request.body
    except RequestDataTooBig:
        raise ApiError(413, "body_too_large", "The request body is larger than this server accepts.") from None
    except (UnreadablePostError, OSError):
        raise ApiError(400, "unreadable_body", "The request body could not be read completely.") from None
    if body and request.content_type != JSON_CONTENT_TYPE:
        content_type = request.content_type or "none"
        raise ApiError(
            415, "unsupported_media_type",
            f"The body has Content-Type {content_type}; send JSON with the header Content-Type: {JSON_CONTENT_TYPE}.",
        )
    return body


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def parse_json_object(body: bytes) -> dict:
    """Return the body as a JSON object; an empty body is an empty object."""
    if not body:
        return {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_json", "The request body is not UTF-8 text.") from None
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise ApiError(
            400, "invalid_json", f"The request body is not valid JSON: {error.msg} at line {error.lineno}, "
                                 f"column {error.colno}."
        ) from None
    except ValueError as error:
        raise ApiError(400, "invalid_json", f"The request body is not valid JSON: {error}.") from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "The request body nests too deeply.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", f"The request body must be a JSON object, not {_json_type(data)}.")
    return data


def _json_type(value) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


def check_fields(data: dict, allowed: set[str], required: set[str] = frozenset()) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ApiError(
            400, "unknown_field", f"Unknown field(s) {', '.join(map(repr, unknown))}. Accepted fields: "
                                  f"{', '.join(sorted(allowed)) or 'none'}."
        )
    missing = sorted(required - set(data))
    if missing:
        raise ApiError(400, "missing_field", f"Missing required field(s): {', '.join(missing)}.")


def query_params(request, allowed: set[str]) -> dict[str, str]:
    """Return the query string as a dict; unknown or repeated parameters are rejected."""
    params = {}
    for name, values in request.GET.lists():
        if name not in allowed:
            accepted = ", ".join(sorted(allowed)) or "none"
            raise ApiError(400, "unknown_parameter",
                           f"Unknown query parameter {name!r}. Accepted parameters: {accepted}.")
        if len(values) > 1:
            raise ApiError(400, "repeated_parameter", f"The query parameter {name!r} is given more than once.")
        params[name] = values[0]
    return params


def int_param(params: dict[str, str], name: str, default: int, minimum: int, maximum: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "invalid_parameter", f"{name}={raw!r} is not a whole number.") from None
    if not minimum <= value <= maximum:
        raise ApiError(400, "invalid_parameter", f"{name}={value} is out of range; use {minimum} to {maximum}.")
    return value


def bool_param(params: dict[str, str], name: str) -> bool | None:
    raw = params.get(name)
    if raw is None:
        return None
    value = raw.strip().lower()
    if value in {"true", "1", "yes"}:
        return True
    if value in {"false", "0", "no"}:
        return False
    raise ApiError(400, "invalid_parameter", f"{name}={raw!r} is not a boolean; use true or false.")
