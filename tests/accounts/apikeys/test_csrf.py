import pytest
from django.middleware.csrf import get_token
from django.test import RequestFactory

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-Horse-42"


def csrf_token_for(client) -> str:
    """Fetch a page that sets the CSRF cookie and return a matching token."""
    client.get("/account/")
    cookie = client.cookies["csrftoken"].value
    request = RequestFactory().get("/")
    request.COOKIES["csrftoken"] = cookie
    request.META["CSRF_COOKIE"] = cookie
    return get_token(request)


def test_session_post_without_token_rejected(csrf_client, viewer):
    csrf_client.force_login(viewer)
    response = csrf_client.post("/api/keys", {"name": "x", "password": PASSWORD}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    assert not viewer.api_keys.exists()


def test_session_delete_without_token_rejected(csrf_client, viewer, make_key):
    created = make_key(viewer)
    csrf_client.force_login(viewer)
    response = csrf_client.delete(f"/api/keys/{created.key.pk}")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    created.key.refresh_from_db()
    assert created.key.revoked_at is None


def test_session_post_with_token_accepted(csrf_client, viewer):
    csrf_client.force_login(viewer)
    token = csrf_token_for(csrf_client)
    response = csrf_client.post(
        "/api/keys", {"name": "x", "password": PASSWORD}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201
    assert viewer.api_keys.count() == 1


def test_session_post_with_wrong_token_rejected(csrf_client, viewer):
    csrf_client.force_login(viewer)
    csrf_token_for(csrf_client)
    response = csrf_client.post(
        "/api/keys", {"name": "x", "password": PASSWORD}, content_type="application/json",
        HTTP_X_CSRFTOKEN="A" * 64,
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"


def test_session_post_from_foreign_origin_rejected(csrf_client, viewer):
    csrf_client.force_login(viewer)
    token = csrf_token_for(csrf_client)
    response = csrf_client.post(
        "/api/keys", {"name": "x", "password": PASSWORD}, content_type="application/json", HTTP_X_CSRFTOKEN=token,
        HTTP_ORIGIN="https://attacker.example",
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"


def test_session_get_needs_no_token(csrf_client, viewer):
    csrf_client.force_login(viewer)
    assert csrf_client.get("/api/me").status_code == 200


def test_bearer_post_needs_no_token(csrf_client, viewer, make_key):
    """A key-authenticated POST passes without any CSRF cookie or token."""
    created = make_key(viewer)
    response = csrf_client.post(
        "/api/keys", {"name": "second", "password": PASSWORD}, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {created.raw}",
    )
    assert response.status_code == 201


def test_bearer_delete_needs_no_token(csrf_client, viewer, make_key):
    created = make_key(viewer)
    response = csrf_client.delete(f"/api/keys/{created.key.pk}", HTTP_AUTHORIZATION=f"Bearer {created.raw}")
    assert response.status_code == 200
    assert response.json()["status"] == "revoked"


def test_both_credentials_rejected_even_with_token(csrf_client, viewer, make_key):
    created = make_key(viewer)
    csrf_client.force_login(viewer)
    token = csrf_token_for(csrf_client)
    response = csrf_client.post(
        "/api/keys", {"name": "x", "password": PASSWORD}, content_type="application/json", HTTP_X_CSRFTOKEN=token,
        HTTP_AUTHORIZATION=f"Bearer {created.raw}",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ambiguous_credentials"
    assert viewer.api_keys.count() == 1


def test_form_post_with_session_cannot_create_key(csrf_client, viewer):
    """A cross-site HTML form (form-encoded, no JSON) cannot reach the handler."""
    csrf_client.force_login(viewer)
    response = csrf_client.post("/api/keys", {"name": "x", "password": PASSWORD})
    assert response.status_code == 415
    assert not viewer.api_keys.exists()
