import pytest

from accounts.apikeys.operations import ApiKeyError
from rbac.assignment import set_role
from rbac.roles import ROLE_PERMISSIONS, Role

pytestmark = pytest.mark.django_db


def me(client, raw):
    return client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_unscoped_key_has_role_permissions(key_client, viewer, make_key):
    created = make_key(viewer)
    assert me(key_client, created.raw).json()["permissions"] == sorted(ROLE_PERMISSIONS[Role.VIEWER])


def test_scoped_key_has_only_its_scopes(key_client, admin_user, make_key):
    created = make_key(admin_user, scopes=["health.view", "users.view"])
    assert me(key_client, created.raw).json()["permissions"] == ["health.view", "users.view"]
    assert key_client.get("/api/users", HTTP_AUTHORIZATION=f"Bearer {created.raw}").status_code == 200


def test_scope_outside_key_denied(key_client, admin_user, audit_log, make_key):
    """An Admin's key scoped to health.view cannot list users, and says it is the scope that is missing."""
    created = make_key(admin_user, scopes=["health.view"])
    response = key_client.get("/api/users", HTTP_AUTHORIZATION=f"Bearer {created.raw}")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert "scopes" in response.json()["error"]["message"]
    records = audit_log.records("permission_denied")
    assert len(records) == 1
    assert records[0]["details"]["permission"] == "users.view"
    assert records[0]["actor"]["id"] == admin_user.pk


def test_demotion_applies_on_next_request(key_client, make_user, admin_user, make_key):
    """Scopes ∩ role: after a demotion to Viewer the key keeps only the scopes the Viewer role has."""
    other_admin = make_user("second-admin@example.com", role="admin")
    created = make_key(other_admin, scopes=["health.view", "users.view", "users.manage"])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {created.raw}"}
    assert key_client.get("/api/users", **headers).status_code == 200

    set_role(other_admin, Role.VIEWER, actor=admin_user)

    assert key_client.get("/api/users", **headers).status_code == 403
    assert me(key_client, created.raw).json()["permissions"] == ["health.view"]
    assert key_client.get("/api/health", **headers).status_code == 200


def test_promotion_does_not_widen_scoped_key(key_client, viewer, admin_user, make_key):
    created = make_key(viewer, scopes=["health.view"])
    set_role(viewer, Role.ADMIN, actor=admin_user)
    assert me(key_client, created.raw).json()["permissions"] == ["health.view"]


def test_unscoped_key_follows_role(key_client, viewer, admin_user, make_key):
    """A key without scopes tracks the owner's role both ways."""
    created = make_key(viewer)
    set_role(viewer, Role.EDITOR, actor=admin_user)
    assert me(key_client, created.raw).json()["permissions"] == sorted(ROLE_PERMISSIONS[Role.EDITOR])


def test_deactivation_applies_on_next_request(key_client, editor, make_key):
    created = make_key(editor)
    assert me(key_client, created.raw).status_code == 200
    editor.is_active = False
    editor.save(update_fields=["is_active"])
    response = me(key_client, created.raw)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "account_inactive"
    editor.is_active = True
    editor.save(update_fields=["is_active"])
    assert me(key_client, created.raw).status_code == 200


def test_scope_outside_role_rejected_at_creation(viewer, make_key):
    with pytest.raises(ApiKeyError) as caught:
        make_key(viewer, scopes=["health.view", "users.manage"])
    assert caught.value.code == "invalid_scopes"
    assert "users.manage" in caught.value.message
    assert not viewer.api_keys.exists()


def test_unknown_scope_rejected_at_creation(viewer, make_key):
    with pytest.raises(ApiKeyError) as caught:
        make_key(viewer, scopes=["health.view", "health.fly"])
    assert caught.value.code == "invalid_scopes"
    assert "health.fly" in caught.value.message


def test_empty_scope_list_rejected(viewer, make_key):
    with pytest.raises(ApiKeyError) as caught:
        make_key(viewer, scopes=[])
    assert caught.value.code == "invalid_scopes"


def test_scopes_stored_sorted_without_duplicates(viewer, make_key):
    created = make_key(viewer, scopes=["source.view", "health.view", "source.view"])
    assert created.key.scopes == ["health.view", "source.view"]
