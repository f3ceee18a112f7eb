import pytest
from django.views import View

from rbac.decorators import PermissionRequiredMixin, has_permission, permission_required
from tests.accounts.helpers import record_signals

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.rbac.urls")]

JSON = {"HTTP_ACCEPT": "application/json"}
HTML = {"HTTP_ACCEPT": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
def viewer_client(client, make_user):
    client.force_login(make_user("viewer@example.com", role="viewer"))
    return client


@pytest.fixture
def editor_client(client, make_user):
    client.force_login(make_user("editor@example.com", role="editor"))
    return client


def test_permitted_user_reaches_view(viewer_client):
    """A user whose role carries the permission gets the view's response."""
    response = viewer_client.get("/guarded/sources/")
    assert response.status_code == 200
    assert response.content == b"sources"


def test_missing_permission_gets_html_403(viewer_client):
    """A signed-in user without the permission gets the 403 page naming it."""
    response = viewer_client.get("/guarded/audit/", **HTML)
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    assert "Access denied" in response.content.decode()
    assert "audit.view" in response.content.decode()


def test_missing_permission_gets_json_403(viewer_client):
    """A client that accepts only JSON gets a JSON 403 with a code and the missing name."""
    response = viewer_client.get("/guarded/audit/", **JSON)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert "audit.view" in response.json()["error"]["message"]


def test_api_path_gets_json_without_accept(viewer_client):
    """Requests under /api/ get JSON whatever their Accept header contains."""
    response = viewer_client.get("/api/users/", **HTML)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_all_listed_permissions_required(viewer_client):
    """A view listing two permissions refuses a user holding only one, naming the missing one."""
    response = viewer_client.get("/guarded/manage/", **JSON)
    assert response.status_code == 403
    message = response.json()["error"]["message"]
    assert "source.manage" in message
    assert "source.view" not in message.replace("source.manage", "")


def test_editor_passes_two_permission_view(editor_client):
    """A user holding every listed permission passes."""
    assert editor_client.get("/guarded/manage/").status_code == 200


@pytest.mark.parametrize("url", ["/guarded/sources/", "/guarded/audit/"])
def test_anonymous_redirected_to_login(client, url):
    """An anonymous browser is sent to the login page with the page to return to."""
    response = client.get(url, **HTML)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


def test_anonymous_json_gets_401(client):
    """An anonymous JSON request gets 401 instead of a redirect."""
    response = client.get("/guarded/audit/", **JSON)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_anonymous_api_gets_401(client):
    """An anonymous request under /api/ gets 401."""
    assert client.get("/api/users/").status_code == 401


def test_permission_denied_signal_sent_once(viewer_client):
    """Each refusal of a signed-in user sends permission_denied once, naming the permission."""
    with record_signals() as log:
        viewer_client.get("/guarded/audit/")
    event = log.only("permission_denied")
    assert event["permission"] == "audit.view"
    assert event["user"].email == "viewer@example.com"


def test_anonymous_refusal_sends_no_permission_denied(client):
    """An anonymous request is a sign-in prompt, not a permission denial."""
    with record_signals() as log:
        client.get("/guarded/audit/")
    assert log.count("permission_denied") == 0


def test_inactive_user_has_no_permission(make_user):
    """has_permission is false for a deactivated user even though the role group remains."""
    make_user("admin@example.com", role="admin")
    user = make_user("editor@example.com", role="editor")
    user.is_active = False
    user.save()
    assert not has_permission(user, "source.view")


def test_unknown_permission_raises_at_decoration():
    """Decorating with an unregistered name raises before any request is served."""
    with pytest.raises(LookupError, match="'source.edit'"):
        permission_required("source.view", "source.edit")


def test_unknown_permission_raises_at_class_definition():
    """A view class naming an unregistered permission fails when the class is defined."""
    with pytest.raises(LookupError, match="'audit.read'"):

        class BadView(PermissionRequiredMixin, View):
            required_permissions = ("audit.read",)


def test_class_without_permissions_raises():
    """A view class without required_permissions fails when the class is defined."""
    with pytest.raises(TypeError, match="required_permissions"):

        class OpenView(PermissionRequiredMixin, View):
            pass
