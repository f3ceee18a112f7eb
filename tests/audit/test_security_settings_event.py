import pytest
from allauth.socialaccount.models import SocialApp

pytestmark = pytest.mark.django_db

SECRET = "gh-client-secret-" + "9f8e7d6c5b4a"


def test_provider_added_changed_deleted_in_admin(admin_client, audit_log):
    """Adding, changing and deleting a sign-in provider in the admin each record security_settings_changed."""
    response = admin_client.post(
        "/admin/socialaccount/socialapp/add/",
        {"provider": "github", "name": "GitHub", "client_id": "Iv1.abc123", "secret": SECRET, "key": ""},
    )
    assert response.status_code == 302, response.content[:2000]
    app = SocialApp.objects.get(provider="github")

    response = admin_client.post(
        f"/admin/socialaccount/socialapp/{app.pk}/change/",
        {"provider": "github", "name": "GitHub", "client_id": "Iv1.def456", "secret": "", "key": ""},
    )
    assert response.status_code == 302, response.content[:2000]
    response = admin_client.post(f"/admin/socialaccount/socialapp/{app.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302

    records = audit_log.records("security_settings_changed")
    assert [record["details"]["changed"] for record in records] == [["created"], ["client_id"], ["deleted"]]
    assert all(record["target"] == {"type": "setting", "name": "oauth_provider:github"} for record in records)
    assert all(record["actor"]["email"] == "admin@example.com" for record in records)
    assert SECRET not in audit_log.path.read_text()
