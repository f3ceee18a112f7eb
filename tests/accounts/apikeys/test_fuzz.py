"""Random headers, query strings and bodies sent to every API endpoint never produce a server error."""

import json
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import transaction
from django.test import Client, override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.apikeys.operations import revoke_api_key
from credentials.store import SecretsStore
from rbac.permissions import PERMISSIONS

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-Horse-42"
ENDPOINTS = [
    "/api/me",
    "/api/users",
    "/api/users/{user}",
    "/api/users/{user}/role",
    "/api/users/{user}/deactivate",
    "/api/users/{user}/reactivate",
    "/api/keys",
    "/api/keys/{key}",
    "/api/health",
    "/api/audit",
    "/api/credentials",
    "/api/credentials/reveal",
    "/api/users/invite",
    "/api/users/invite/revoke",
]
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

# Header values as a WSGI server delivers them: latin-1 text without line breaks.
header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=80)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
field_values = st.one_of(
    json_values,
    st.sampled_from(["admin", "editor", "viewer", "ADMIN ", PASSWORD, "health.view", "", " ", "123456",
                     "sources.stripe.api_key", "sources.stripe", "dango.oauth.x.access_token", "sources..x",
                     "new@example.com", "viewer@example.com"]),
    st.lists(st.sampled_from([*PERMISSIONS, "x.y", ""]), max_size=5),
    st.integers(min_value=-3, max_value=400),
)
known_fields = st.dictionaries(
    st.sampled_from(["name", "scopes", "expires_in_days", "password", "code", "role", "force", "path", "email"]),
    field_values, max_size=5,
)
bodies = st.one_of(
    st.just(b""),
    json_values.map(lambda value: json.dumps(value).encode()),
    known_fields.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=64),
    header_text.map(str.encode),
)
content_types = st.one_of(
    st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", "",
                     "application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz",
                     "application/json; charset=latin-1"]),
    header_text,
)
queries = st.dictionaries(
    st.one_of(st.sampled_from(["role", "is_active", "limit", "offset", "since", "until", "event", "user", "ip"]),
              header_text),
    st.one_of(st.sampled_from(["admin", "true", "false", "0", "-1", "5", "999999999999999999999", "24h",
                               "0001-01-01", "9999-12-31T23:59:59", "2026-01-31T14:00:00+14:00", "login_failure",
                               "192.0.2.0/24", "::1", "admin@example.com", "99999999999999999999w"]), header_text),
    max_size=3,
)


@pytest.fixture
def fixtures(admin_user, viewer, make_key, client, audit_log, tmp_path, settings, verified_login):
    """Keys, a session and planted secrets to mix into the random requests."""
    settings.CREDENTIALS_PROJECT_ROOT = tmp_path
    SecretsStore(tmp_path).set("sources.stripe.api_key", "canary-fuzz-stripe-key")
    admin_key = make_key(admin_user, name="admin")
    reveal_key = make_key(admin_user, name="reveal", scopes=["source.view_credentials", "audit.view", "users.manage"])
    viewer_key = make_key(viewer, name="viewer", scopes=["health.view"])
    revoked = make_key(viewer, name="revoked")
    revoke_api_key(revoked.key, by=viewer)
    # A session that meets the Admins' two-factor policy, so random requests reach the handlers.
    verified_login(client, admin_user)
    return {
        "keys": [admin_key.raw, reveal_key.raw, viewer_key.raw, revoked.raw],
        "session": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
        "user_ids": [admin_user.pk, viewer.pk],
        "key_ids": [admin_key.key.pk, reveal_key.key.pk, viewer_key.key.pk, revoked.key.pk],
    }


def authorization(keys):
    return st.one_of(
        st.none(),
        st.sampled_from(keys).map(lambda raw: f"Bearer {raw}"),
        header_text,
        header_text.map(lambda text: f"Bearer {text}"),
        st.text(alphabet="abcXYZ019_-", min_size=40, max_size=46).map(lambda text: f"Bearer dango_ak_{text}"),
    )


def path_id(known):
    return st.one_of(st.sampled_from(known), st.integers(min_value=0, max_value=10**25), header_text).map(str)


@st.composite
def api_requests(draw, endpoint, fixtures):
    path = endpoint.format(user=draw(path_id(fixtures["user_ids"])), key=draw(path_id(fixtures["key_ids"])))
    return {
        "method": draw(st.sampled_from(METHODS)),
        "path": path,
        "query": draw(queries),
        "authorization": draw(authorization(fixtures["keys"])),
        "session": draw(st.one_of(st.none(), st.just(fixtures["session"]), header_text)),
        "csrf": draw(st.one_of(st.none(), header_text)),
        "content_type": draw(content_types),
        "body": draw(bodies),
        "no_maximum_lifetime": draw(st.booleans()),
    }


def send(spec):
    client = Client(enforce_csrf_checks=True)
    if spec["session"] is not None:
        client.cookies[django_settings.SESSION_COOKIE_NAME] = spec["session"]
    extra = {}
    if spec["authorization"] is not None:
        extra["HTTP_AUTHORIZATION"] = spec["authorization"]
    if spec["csrf"] is not None:
        extra["HTTP_X_CSRFTOKEN"] = spec["csrf"]
    # The path may contain anything; the test client quotes it like a browser would.
    path = spec["path"]
    if spec["query"]:
        path += "?" + urlencode(spec["query"])
    return client.generic(spec["method"], path, data=spec["body"], content_type=spec["content_type"], **extra)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_no_server_error(fixtures, endpoint):
    @hypothesis_settings(max_examples=50, deadline=None,
                         suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(spec=api_requests(endpoint, fixtures))
    def check(spec):
        cache.clear()
        with transaction.atomic(), override_settings(
            DANGO_API_KEY_MAX_EXPIRY_DAYS=0 if spec["no_maximum_lifetime"] else 365
        ):
            response = send(spec)
            transaction.set_rollback(True)
        assert response.status_code < 500 or (endpoint == "/api/health" and response.status_code == 503)
        assert response["Content-Type"] == "application/json"
        if not (endpoint == "/api/credentials/reveal" and response.status_code == 200):
            assert b"canary-fuzz-stripe-key" not in response.content
        if response.status_code >= 400 and spec["method"] != "HEAD":
            error = json.loads(response.content)["error"]
            assert isinstance(error["code"], str)
            assert isinstance(error["message"], str)

    check()
