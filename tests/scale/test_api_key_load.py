"""API keys under concurrent load against 4 gunicorn workers sharing PostgreSQL and Redis.

Each key may make API_KEY_RATE_LIMIT requests per window. The limit is a
fixed window counted in Redis, so a burst that starts shortly before the
window ends splits its requests over two windows. The test notices that
from the window number before and after the burst and then repeats the
burst once with fresh keys, at the start of the new window.
"""

import functools
import time
from collections import Counter

import pytest

from tests.scale.conftest import API_KEY_RATE_LIMIT, API_KEY_RATE_WINDOW
from tests.scale.traffic import load

pytestmark = [pytest.mark.scale, pytest.mark.postgres, pytest.mark.redis]

KEYS = 3
REQUESTS_PER_KEY = 120
CLIENTS = 32
JSON_BODY = {"Content-Type": "application/json"}
# (method, path, body, headers, status while the key is within its limit), taken in turn by each key's requests.
KEY_REQUESTS = [
    ("GET", "/api/me", None, {}, 200),
    ("GET", "/api/keys", None, {}, 200),
    ("HEAD", "/api/me", None, {}, 200),
    ("POST", "/api/me", "{}", JSON_BODY, 405),
    ("POST", "/api/keys", "{not json", JSON_BODY, 400),
    ("GET", "/api/users", None, {}, 403),
    ("GET", "/api/keys/999999999", None, {}, 404),
]


def window_number() -> int:
    return int(time.time()) // API_KEY_RATE_WINDOW


def send(site, raw_key: str, number: int):
    method, path, body, headers, _ = KEY_REQUESTS[number % len(KEY_REQUESTS)]
    return site.request(method, path, body=body, headers={"Authorization": f"Bearer {raw_key}", **headers})


def run_burst(site, keys: list[str], noise: list) -> tuple[dict[str, list], list, bool]:
    """Send every key's requests, interleaved, plus ``noise``.

    Return the responses per key, the responses to the noise and whether the
    rate-limit window changed during the burst.
    """
    calls = [functools.partial(send, site, raw, number) for number in range(REQUESTS_PER_KEY) for raw in keys]
    window = window_number()
    responses = load(calls + noise, clients=CLIENTS)
    window_changed = window_number() != window
    per_key = {raw: responses[index:len(calls):len(keys)] for index, raw in enumerate(keys)}
    return per_key, responses[len(calls):], window_changed


def test_per_key_limit_exact_under_load(scale_site, create_user, create_api_key):
    """Of 120 concurrent requests per key exactly 50 are let through; no request of any kind gets a server error."""
    owner = create_user("scripts@example.com", role="editor")
    revoked = create_api_key(owner, "revoked")
    scale_site.manage("apikeys", "revoke", str(revoked.id))
    noise = [
        functools.partial(scale_site.request, "GET", "/api/me", headers={"Authorization": f"Bearer {revoked.raw}"}),
        functools.partial(scale_site.request, "GET", "/api/me", headers={"Authorization": "Bearer dango_ak_short"}),
        functools.partial(scale_site.request, "GET", "/api/me", headers={"Authorization": "Basic dXNlcjpwYXNz"}),
        functools.partial(scale_site.request, "GET", "/api/no-such-endpoint"),
    ] * 10
    before = len(scale_site.audit_records())

    keys = [create_api_key(owner, f"load-{number}").raw for number in range(KEYS)]
    per_key, noise_responses, window_changed = run_burst(scale_site, keys, noise)
    if window_changed:
        keys = [create_api_key(owner, f"load-again-{number}").raw for number in range(KEYS)]
        before = len(scale_site.audit_records())
        per_key, noise_responses, window_changed = run_burst(scale_site, keys, noise)
    assert not window_changed

    all_responses = [response for responses in per_key.values() for response in responses] + noise_responses
    assert [response.status for response in all_responses if response.status >= 500] == []

    refused_ids = set()
    for raw, responses in per_key.items():
        allowed = [(number, response) for number, response in enumerate(responses) if response.status != 429]
        assert len(allowed) == API_KEY_RATE_LIMIT, raw[:16]
        for number, response in allowed:
            assert response.status == KEY_REQUESTS[number % len(KEY_REQUESTS)][4], (number, response.body)
        for number, response in enumerate(responses):
            if response.status == 429:
                if KEY_REQUESTS[number % len(KEY_REQUESTS)][0] != "HEAD":
                    assert response.json()["error"]["code"] == "rate_limited"
                assert 0 < int(response.headers["retry-after"]) <= API_KEY_RATE_WINDOW
                refused_ids.add(response.headers["x-request-id"])
    assert len(refused_ids) == KEYS * (REQUESTS_PER_KEY - API_KEY_RATE_LIMIT)

    assert Counter(response.status for response in noise_responses) == {401: 30, 404: 10}
    revoked_codes = {response.json()["error"]["code"] for response in noise_responses[0::4]}
    assert revoked_codes == {"api_key_revoked"}

    records = scale_site.audit_records()[before:]
    limited = {record["request_id"] for record in records if record["event"] == "rate_limit_hit"}
    assert limited == refused_ids
