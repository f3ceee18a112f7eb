"""Four gunicorn workers appending to one audit log under load, while it rotates.

Every request below produces exactly one audit record. Every response
carries the request id that its record contains, so each response can be
matched with its record. A lost, duplicated or torn record shows up as a
request id that is missing, repeated or unreadable.
"""

import functools
import secrets

import pytest

from tests.scale.conftest import PASSWORD
from tests.scale.traffic import LOGIN_PATH, load, open_form, post_form, sign_in

pytestmark = [pytest.mark.scale, pytest.mark.postgres, pytest.mark.redis]

REQUESTS_PER_KIND = 150
CLIENTS = 24


def test_no_record_lost_under_load(scale_site, create_user):
    """600 requests from 24 clients make 600 records, one per request id, in a hash chain that verifies."""
    viewer = create_user("viewer-under-load@example.com", role="viewer")
    session_cookie = sign_in(scale_site, viewer, PASSWORD)
    form_cookie, token = open_form(scale_site)

    def unknown_api_key(number: int):
        return scale_site.request("GET", "/api/me",
                                  headers={"Authorization": f"Bearer dango_ak_{secrets.token_urlsafe(32)}"})

    def malformed_api_key(number: int):
        return scale_site.request("GET", "/api/me", headers={"Authorization": f"Bearer not-a-key-{number}"})

    def unknown_email(number: int):
        return post_form(scale_site, LOGIN_PATH, {"login": f"nobody-{number}@example.com", "password": "wrong"},
                         form_cookie, token)

    def role_refused(number: int):
        return scale_site.request("GET", "/api/users", headers={"Cookie": session_cookie})

    kinds = [
        # (request, the one event it records, its status)
        (unknown_api_key, "api_key_rejected", 401),
        (malformed_api_key, "api_key_rejected", 401),
        (unknown_email, "login_failure", 200),
        (role_refused, "permission_denied", 403),
    ]
    calls, expected = [], []
    for number in range(REQUESTS_PER_KIND):
        for send, event, status in kinds:
            calls.append(functools.partial(send, number))
            expected.append((event, status))

    responses = load(calls, clients=CLIENTS)

    assert [response.status for response in responses] == [status for _, status in expected]
    request_ids = [response.headers["x-request-id"] for response in responses]
    assert len(set(request_ids)) == len(responses)

    records = scale_site.audit_records()
    by_request = {}
    for record in records:
        by_request.setdefault(record["request_id"], []).append(record)
    for request_id, (event, _) in zip(request_ids, expected):
        matching = by_request.get(request_id, [])
        assert [record["event"] for record in matching] == [event], request_id

    # One chain across all files: seq counts up by one from the first record, with no gap or repeat.
    sequence = [record["seq"] for record in records]
    assert sequence == list(range(sequence[0], sequence[0] + len(records)))
    rotated = list(scale_site.audit_log_path.parent.glob("audit.jsonl.[0-9]*"))
    assert len(rotated) >= 2

    verified = scale_site.manage("audit", "verify")
    assert f"The audit chain is intact: {len(records)} record(s)" in verified.stdout
    assert f"in {len(rotated) + 1} file(s)" in verified.stdout
