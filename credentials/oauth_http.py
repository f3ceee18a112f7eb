"""POST to an OAuth token or revoke endpoint, retrying errors that may pass.

A 429, a 5xx or a network failure is retried with exponential back-off:
``CREDENTIALS_REFRESH_BACKOFF`` doubled per attempt, capped by
``CREDENTIALS_REFRESH_BACKOFF_MAX``. A 429's Retry-After is honoured up to
that cap. Any other error status is final and raised at once. Request
bodies carry secrets, so nothing here logs them.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from credentials.exceptions import CredentialsError

logger = logging.getLogger("credentials")


class TokenEndpointError(CredentialsError):
    """The endpoint returned an error or could not be reached.

    ``code`` is the OAuth error code (``invalid_grant``), ``http_<status>``
    when the body has none, or ``network``. ``transient`` is True for
    errors that may pass on a later try.
    """

    def __init__(self, code: str, description: str, status: int | None, transient: bool):
        self.code = code
        self.description = description
        self.status = status
        self.transient = transient
        status_text = f"HTTP {status}" if status is not None else "no response"
        detail = f": {description}" if description else ""
        super().__init__(f"{code} ({status_text}){detail}")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int
    backoff: float
    backoff_max: float
    timeout: float

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(retry_after, self.backoff_max)
        return min(self.backoff * 2 ** (attempt - 1), self.backoff_max)


def _error_from_response(response: requests.Response) -> TokenEndpointError:
    code, description = f"http_{response.status_code}", ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, str) and error:
            code = error
        elif isinstance(error, dict):
            # Some Google APIs wrap errors as {"error": {"status": ..., "message": ...}}.
            code = str(error.get("status") or code)
            description = str(error.get("message") or "")
        description = str(body.get("error_description") or description)
    transient = response.status_code == 429 or response.status_code >= 500
    return TokenEndpointError(code, description[:200], response.status_code, transient)


def _retry_after(response: requests.Response | None) -> float | None:
    if response is None or response.status_code != 429:
        return None
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


def post_form(
    url: str,
    data: dict[str, str],
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    """POST ``data`` form-encoded to ``url`` and return the JSON object of a 2xx response.

    Raises TokenEndpointError for a final error, or for the last transient
    one once the attempts are used up.
    """
    failure: TokenEndpointError | None = None
    for attempt in range(1, policy.attempts + 1):
        response = None
        try:
            response = requests.post(url, data=data, timeout=policy.timeout, headers={"Accept": "application/json"})
        except requests.RequestException as error:
            failure = TokenEndpointError("network", type(error).__name__, None, transient=True)
        else:
            if 200 <= response.status_code < 300:
                if not response.content:
                    return {}
                try:
                    body = response.json()
                except ValueError:
                    body = None
                if not isinstance(body, dict):
                    raise TokenEndpointError("invalid_response", "the response body is not a JSON object", response.status_code, transient=False)
                return body
            failure = _error_from_response(response)
            if not failure.transient:
                raise failure
        if attempt < policy.attempts:
            delay = policy.delay(attempt, _retry_after(response))
            logger.warning(
                "Request to %s failed with %s (attempt %d of %d); retrying in %.3g s",
                url,
                failure.code,
                attempt,
                policy.attempts,
                delay,
            )
            sleep(delay)
    assert failure is not None
    logger.error("Request to %s failed with %s after %d attempts", url, failure.code, policy.attempts)
    raise failure
