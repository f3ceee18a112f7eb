import json

import pytest
from django.test import RequestFactory
from django.utils import timezone

from accounts.api import errors
from audit.models import WriteFailure

pytestmark = pytest.mark.django_db


@pytest.fixture
def auth(viewer, make_key):
    return {"HTTP_AUTHORIZATION": f"Bearer {make_key(viewer).raw}"}


def assert_error(response, status, code):
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


def test_unknown_path_is_json_404(key_client, auth):
    assert_error(key_client.get("/api/nope", **auth), 404, "not_found")
    assert_error(key_client.post("/api/users/1/nope", **auth), 404, "not_found")


def test_unknown_path_anonymous_json_404(key_client):
    assert_error(key_client.get("/api/users/abc"), 404, "not_found")


def test_oversized_id_is_404(key_client, auth):
    assert_error(key_client.get("/api/keys/" + "9" * 40, **auth), 404, "not_found")
    assert_error(key_client.delete("/api/keys/" + "9" * 18, **auth), 404, "not_found")


def test_method_not_allowed(key_client, auth):
    response = key_client.patch("/api/me", **auth)
    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET, HEAD"
    response = key_client.post("/api/health", **auth)
    assert_error(response, 405, "method_not_allowed")


def test_head_handled_like_get(key_client, auth):
    assert key_client.head("/api/me", **auth).status_code == 200


def test_invalid_json(key_client, auth):
    response = key_client.post("/api/keys", "{not json", content_type="application/json", **auth)
    assert_error(response, 400, "invalid_json")
    assert "line 1, column 2" in response.json()["error"]["message"]


@pytest.mark.parametrize("body", ["[]", '"text"', "3", "null", "true"])
def test_json_must_be_object(key_client, auth, body):
    assert_error(key_client.post("/api/keys", body, content_type="application/json", **auth), 400, "invalid_json")


@pytest.mark.parametrize("body", ['{"name": NaN}', '{"name": Infinity}', b'{"name": "\xff"}', "[" * 100000])
def test_json_edge_cases_rejected(key_client, auth, body):
    assert_error(key_client.post("/api/keys", body, content_type="application/json", **auth), 400, "invalid_json")


def test_non_json_content_type(key_client, auth):
    response = key_client.post("/api/keys", "name=x", content_type="application/x-www-form-urlencoded", **auth)
    assert_error(response, 415, "unsupported_media_type")


def test_body_too_large(key_client, auth, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = key_client.post("/api/keys", '{"name": "' + "x" * 200 + '"}', content_type="application/json", **auth)
    assert_error(response, 413, "body_too_large")


def test_unknown_query_parameter(key_client, auth):
    assert_error(key_client.get("/api/me?verbose=1", **auth), 400, "unknown_parameter")


def test_errors_are_not_cached(key_client):
    assert key_client.get("/api/me")["Cache-Control"] == "no-store"


@pytest.mark.parametrize("handler,status", [
    (lambda request: errors.bad_request(request, Exception()), 400),
    (lambda request: errors.permission_denied(request, Exception()), 403),
    (lambda request: errors.page_not_found(request, Exception()), 404),
    (errors.server_error, 500),
])
def test_error_views_json_under_api(handler, status):
    response = handler(RequestFactory().get("/api/me"))
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert "error" in json.loads(response.content)


@pytest.mark.parametrize("handler,status", [
    (lambda request: errors.page_not_found(request, Exception()), 404),
    (errors.server_error, 500),
])
def test_error_views_html_elsewhere(handler, status):
    response = handler(RequestFactory().get("/account/"))
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")


def test_site_404_stays_html(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_health_ok(key_client, auth):
    response = key_client.get("/api/health", **auth)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "audit_log_writable", "audit_write_failures"}
    assert all(check["ok"] for check in body["checks"].values())


def test_health_reports_unreviewed_audit_failures(key_client, auth):
    WriteFailure.objects.create(pk=1, count=2, acknowledged_count=0, last_error="disk full",
                                last_failed_at=timezone.now())
    response = key_client.get("/api/health", **auth)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert body["checks"]["audit_write_failures"]["ok"] is False
    assert "disk full" not in response.content.decode()
    assert body["checks"]["database"]["ok"] is True


def test_health_reports_unreachable_cache(key_client, auth, settings, caplog):
    """With the cache server down, a key still reaches health, which returns 503 and names the cache."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:9/0"}}
    response = key_client.get("/api/health", **auth)
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["cache"]["ok"] is False
    assert checks["database"]["ok"] is True
    assert "rate limit could not be counted" in caplog.text


def test_health_needs_health_view(key_client, admin_user, make_key):
    created = make_key(admin_user, scopes=["users.view"])
    response = key_client.get("/api/health", HTTP_AUTHORIZATION=f"Bearer {created.raw}")
    assert_error(response, 403, "permission_denied")
