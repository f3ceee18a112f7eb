"""Sessions of the scaled deployment: cached_db, so each lives in Redis and in PostgreSQL, for every worker."""

import functools

import psycopg
import pytest
import redis
from django.conf import settings

from tests.scale.conftest import PASSWORD
from tests.scale.traffic import cookie_value, load, open_form, post_form, sign_in

pytestmark = [pytest.mark.scale, pytest.mark.postgres, pytest.mark.redis]

REQUESTS = 40
# Django's cached_db engine stores a session under this cache key, which RedisCache prefixes with ":1:".
SESSION_CACHE_KEY = ":1:django.contrib.sessions.cached_db{}"


def stored_session(database_url: str, session_key: str) -> tuple[bool, bool]:
    """Return whether Redis and whether PostgreSQL hold the session."""
    in_redis = bool(redis.Redis.from_url(settings.REDIS_URL).exists(SESSION_CACHE_KEY.format(session_key)))
    with psycopg.connect(database_url) as connection:
        row = connection.execute("SELECT 1 FROM django_session WHERE session_key = %s", [session_key]).fetchone()
    return in_redis, row is not None


def test_session_shared_by_all_workers(scale_site, scale_database, create_user):
    """A session made by one worker is in Redis and PostgreSQL, serves every worker, and signing out removes both."""
    email = create_user("sessions@example.com", role="viewer")
    cookie = sign_in(scale_site, email, PASSWORD)
    session_key = cookie.split("sessionid=", 1)[1].split(";", 1)[0]
    assert stored_session(scale_database, session_key) == (True, True)

    home = functools.partial(scale_site.request, "GET", "/", headers={"Cookie": cookie})
    responses = load([home] * REQUESTS, clients=REQUESTS)
    assert [response.status for response in responses] == [200] * REQUESTS
    assert all(f"Signed in as {email}" in response.body for response in responses)

    cookie, token = open_form(scale_site, "/", cookie=cookie)
    signed_out = post_form(scale_site, "/accounts/logout/", {}, cookie, token)
    assert signed_out.status == 302
    assert cookie_value(signed_out, "sessionid") == '""'
    assert stored_session(scale_database, session_key) == (False, False)
    after = scale_site.request("GET", "/", headers={"Cookie": cookie})
    assert after.status == 302
    assert after.headers["location"].startswith("/accounts/login/")
