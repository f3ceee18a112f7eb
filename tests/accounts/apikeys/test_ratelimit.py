from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_limit(settings):
    settings.DANGO_API_KEY_RATE_LIMIT = 3
    settings.DANGO_API_KEY_RATE_WINDOW = 60


def get_me(client, raw):
    return client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_requests_over_limit_get_429(key_client, viewer, make_key, audit_log, small_limit):
    created = make_key(viewer)
    # The start of a window, so all requests below fall into one window.
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=1)
    with time_machine.travel(start, tick=False):
        statuses = [get_me(key_client, created.raw).status_code for _ in range(3)]
        refused = get_me(key_client, created.raw)
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused["Retry-After"] == "60"
    records = audit_log.records("rate_limit_hit")
    assert len(records) == 1
    assert records[0]["details"]["scope"] == "api_key"
    assert records[0]["details"]["limit"] == "api_key"
    assert records[0]["actor"]["id"] == viewer.pk


def test_limit_is_per_key(key_client, viewer, make_key, small_limit):
    busy = make_key(viewer, name="busy")
    quiet = make_key(viewer, name="quiet")
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=1)
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            get_me(key_client, busy.raw)
        assert get_me(key_client, busy.raw).status_code == 429
        assert get_me(key_client, quiet.raw).status_code == 200


def test_limit_resets_after_window(key_client, viewer, make_key, small_limit):
    created = make_key(viewer)
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=1)
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        for _ in range(3):
            get_me(key_client, created.raw)
        refused = get_me(key_client, created.raw)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "30"
    with time_machine.travel(start + timedelta(seconds=60), tick=False):
        assert get_me(key_client, created.raw).status_code == 200


def test_refused_request_changes_nothing(key_client, viewer, make_key, small_limit):
    created = make_key(viewer)
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=1)
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            get_me(key_client, created.raw)
        response = key_client.delete(f"/api/keys/{created.key.pk}", HTTP_AUTHORIZATION=f"Bearer {created.raw}")
    assert response.status_code == 429
    created.key.refresh_from_db()
    assert created.key.revoked_at is None


@pytest.mark.redis
def test_limit_shared_through_redis(key_client, viewer, make_key, small_limit):
    """With Redis as the cache the counter is the shared atomic one."""
    created = make_key(viewer)
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=1)
    with time_machine.travel(start, tick=False):
        statuses = [get_me(key_client, created.raw).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
