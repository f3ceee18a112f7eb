import pytest

from accounts.models import User
from rbac.assignment import get_role, set_role
from rbac.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_key(admin_user, make_key):
    return make_key(admin_user, name="admin script")


@pytest.fixture
def call(key_client, admin_key):
    """Send a request with the Admin's key; JSON bodies are encoded."""

    def send(method, path, body=None, raw=None):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {raw or admin_key.raw}"}
        if method == "get":
            return key_client.get(path, **headers)
        return getattr(key_client, method)(path, "" if body is None else body, content_type="application/json",
                                           **headers)

    return send


def test_list_users(call, admin_user, editor, viewer):
    response = call("get", "/api/users")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [user["email"] for user in body["users"]] == [admin_user.email, editor.email, viewer.email]
    assert body["users"][1]["role"] == "editor"
    assert "password" not in body["users"][0]


def test_list_filters_and_pagination(call, editor, viewer, make_user):
    make_user("zz-viewer@example.com", role="viewer", is_active=False)
    assert [u["email"] for u in call("get", "/api/users?role=viewer").json()["users"]] == [
        viewer.email, "zz-viewer@example.com"]
    assert [u["email"] for u in call("get", "/api/users?role=viewer&is_active=false").json()["users"]] == [
        "zz-viewer@example.com"]
    page = call("get", "/api/users?limit=1&offset=1").json()
    assert page["count"] == 4
    assert [u["email"] for u in page["users"]] == [editor.email]


@pytest.mark.parametrize("query,fragment", [
    ("role=owner", "Unknown role"),
    ("is_active=maybe", "is_active"),
    ("limit=0", "limit=0"),
    ("limit=abc", "limit"),
    ("offset=-1", "offset"),
    ("rol=admin", "Unknown query parameter"),
    ("role=admin&role=viewer", "more than once"),
])
def test_list_invalid_query(call, query, fragment):
    response = call("get", f"/api/users?{query}")
    assert response.status_code == 400
    assert fragment in response.json()["error"]["message"]


def test_user_detail(call, editor):
    response = call("get", f"/api/users/{editor.pk}")
    assert response.status_code == 200
    assert response.json()["email"] == editor.email


def test_user_detail_unknown_id(call):
    response = call("get", "/api/users/999999")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_set_role(call, admin_user, viewer, audit_log):
    response = call("put", f"/api/users/{viewer.pk}/role", {"role": "editor"})
    assert response.status_code == 200
    assert response.json()["role"] == "editor"
    assert get_role(User.objects.get(pk=viewer.pk)) is Role.EDITOR
    records = audit_log.records("role_changed")
    assert len(records) == 1
    assert records[0]["actor"]["id"] == admin_user.pk
    assert records[0]["details"] == {"old_role": "viewer", "new_role": "editor"}


def test_set_role_unknown_role(call, viewer):
    response = call("put", f"/api/users/{viewer.pk}/role", {"role": "owner"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_role"
    assert get_role(User.objects.get(pk=viewer.pk)) is Role.VIEWER


def test_set_role_missing_field(call, viewer):
    response = call("put", f"/api/users/{viewer.pk}/role", {"rol": "editor"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_field"


def test_self_demotion_conflicts(call, admin_user, make_user):
    make_user("other-admin@example.com", role="admin")
    response = call("put", f"/api/users/{admin_user.pk}/role", {"role": "viewer"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "self_demotion"
    assert get_role(User.objects.get(pk=admin_user.pk)) is Role.ADMIN


def test_demote_other_admin(call, make_user):
    """An Admin may demote another Admin while an active Admin remains."""
    second = make_user("second@example.com", role="admin")
    response = call("put", f"/api/users/{second.pk}/role", {"role": "viewer"})
    assert response.status_code == 200
    assert User.objects.get(pk=second.pk).is_staff is False


def test_set_role_needs_users_manage(key_client, editor, viewer, make_key, audit_log):
    created = make_key(editor)
    response = key_client.put(f"/api/users/{viewer.pk}/role", {"role": "editor"}, content_type="application/json",
                              HTTP_AUTHORIZATION=f"Bearer {created.raw}")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Your role does not include the permission users.manage."
    assert get_role(User.objects.get(pk=viewer.pk)) is Role.VIEWER
    assert len(audit_log.records("permission_denied")) == 1


def test_list_needs_users_view(key_client, editor, make_key):
    created = make_key(editor)
    response = key_client.get("/api/users", HTTP_AUTHORIZATION=f"Bearer {created.raw}")
    assert response.status_code == 403


def test_deactivate_user(call, key_client, editor, make_key, audit_log):
    editor_key = make_key(editor)
    response = call("post", f"/api/users/{editor.pk}/deactivate")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert User.objects.get(pk=editor.pk).is_active is False
    assert len(audit_log.records("user_deactivated")) == 1
    rejected = key_client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {editor_key.raw}")
    assert rejected.status_code == 401


def test_deactivate_ends_sessions(call, editor, client):
    client.force_login(editor)
    assert client.get("/api/me").status_code == 200
    call("post", f"/api/users/{editor.pk}/deactivate")
    assert client.get("/api/me").status_code == 401


def test_deactivate_self_conflicts(call, admin_user):
    response = call("post", f"/api/users/{admin_user.pk}/deactivate")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "self_deactivate"
    assert User.objects.get(pk=admin_user.pk).is_active


def test_deactivate_twice_conflicts(call, editor):
    call("post", f"/api/users/{editor.pk}/deactivate")
    response = call("post", f"/api/users/{editor.pk}/deactivate")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_inactive"


def test_deactivate_rejects_body_fields(call, editor):
    response = call("post", f"/api/users/{editor.pk}/deactivate", {"force": True})
    assert response.status_code == 400
    assert User.objects.get(pk=editor.pk).is_active


def test_reactivate_user(call, editor, audit_log):
    call("post", f"/api/users/{editor.pk}/deactivate")
    response = call("post", f"/api/users/{editor.pk}/reactivate")
    assert response.status_code == 200
    assert User.objects.get(pk=editor.pk).is_active
    assert len(audit_log.records("user_reactivated")) == 1
    assert call("post", f"/api/users/{editor.pk}/reactivate").status_code == 409


def test_admin_grant_by_admin_key(call, viewer):
    response = call("put", f"/api/users/{viewer.pk}/role", {"role": "admin"})
    assert response.status_code == 200
    assert User.objects.get(pk=viewer.pk).is_staff


def test_role_change_by_session(client, admin_user, viewer, verified_login, audit_log):
    """An Admin whose session passed the second factor changes a role through the API."""
    verified_login(client, admin_user)
    response = client.put(f"/api/users/{viewer.pk}/role", {"role": "editor"}, content_type="application/json")
    assert response.status_code == 200
    assert get_role(User.objects.get(pk=viewer.pk)) is Role.EDITOR
    [record] = audit_log.records("role_changed")
    assert record["actor"]["id"] == admin_user.pk
    assert record["target"]["id"] == viewer.pk
    assert record["details"] == {"old_role": "viewer", "new_role": "editor"}
    set_role(viewer, Role.VIEWER, actor=admin_user)


def test_role_change_needs_admin_two_factor(client, admin_user, viewer, audit_log):
    """An Admin session without two-factor authentication is sent to set it up and changes no role."""
    client.force_login(admin_user)
    response = client.put(f"/api/users/{viewer.pk}/role", {"role": "editor"}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "two_factor_required"
    assert get_role(User.objects.get(pk=viewer.pk)) is Role.VIEWER
    assert audit_log.records("role_changed") == []
