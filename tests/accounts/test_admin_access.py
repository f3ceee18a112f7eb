import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts.models import User
from accounts.twofactor import devices
from rbac.assignment import get_role
from rbac.roles import Role
from tests.accounts.helpers import PASSWORD
from tests.accounts.two_factor.conftest import EPOCH, KEY_HEX, totp_code

pytestmark = pytest.mark.django_db

SIGN_IN_TO_ADMIN = "/accounts/login/?next=%2Fadmin%2F"


def admin_pages(user_pk):
    return [
        "/admin/",
        "/admin/accounts/",
        "/admin/accounts/user/",
        "/admin/accounts/user/add/",
        f"/admin/accounts/user/{user_pk}/change/",
        f"/admin/accounts/user/{user_pk}/password/",
        f"/admin/accounts/user/{user_pk}/delete/",
        "/admin/accounts/usersession/",
        "/admin/auth/group/",
    ]


@pytest.fixture
def target(admin_user, make_user):
    return make_user("target@example.com", role="viewer")


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_non_admins_get_no_admin_pages(client, make_user, target, role):
    """Editors and Viewers are sent to the admin login from every admin page."""
    client.force_login(make_user(f"{role}@example.com", role=role))
    for url in admin_pages(target.pk):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url


def test_admins_get_admin_pages(admin_client, target):
    """An Admin opens every admin page."""
    for url in admin_pages(target.pk):
        assert admin_client.get(url).status_code == 200, url


def test_anonymous_gets_no_admin_pages(client, target):
    """An anonymous visitor is sent to the admin login."""
    for url in admin_pages(target.pk):
        assert client.get(url).status_code == 302, url


def test_direct_permissions_do_not_open_admin(client, make_user, target):
    """An Editor given users.view and users.manage directly still has no admin access."""
    editor = make_user("editor@example.com", role="editor")
    editor.user_permissions.add(*Permission.objects.filter(codename__in=["users_view", "users_manage"]))
    client.force_login(editor)
    assert client.get("/admin/accounts/user/").status_code == 302


def test_admin_login_redirects_to_sign_in(client, make_user):
    """The admin login page checks no password: it sends GET and POST to the site sign-in."""
    make_user("admin@example.com", role="admin")
    page = client.get("/admin/login/?next=/admin/")
    posted = client.post("/admin/login/?next=/admin/", {"username": "admin@example.com", "password": PASSWORD})
    for response in (page, posted):
        assert response.status_code == 302
        assert response["Location"] == SIGN_IN_TO_ADMIN
    assert "_auth_user_id" not in client.session


def test_non_admin_admin_login_refused(client, make_user):
    """An Editor who signs in with a correct password on the way to the admin is refused the admin."""
    make_user("admin@example.com", role="admin")
    make_user("editor@example.com", role="editor")
    response = client.post(SIGN_IN_TO_ADMIN, {"login": "editor@example.com", "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 302
    rejection = client.get("/admin/login/?next=/admin/")
    assert rejection.status_code == 403
    assert b"Only Admins" in rejection.content


def test_admin_login_with_mixed_case(client, make_user):
    """An Admin reaches the admin through the site sign-in with their email in any case."""
    admin = make_user("admin@example.com", role="admin")
    devices.enable(admin, KEY_HEX, confirmed_step=-1)
    with time_machine.travel(EPOCH, tick=False):
        password_step = client.post(
            SIGN_IN_TO_ADMIN, {"login": "Admin@Example.COM", "password": PASSWORD, "next": "/admin/"}
        )
        assert password_step.status_code == 302
        assert password_step["Location"] == reverse("two_factor_challenge")
        code_step = client.post(reverse("two_factor_challenge"), {"code": totp_code(EPOCH)})
        assert code_step.status_code == 302
        assert code_step["Location"] == "/admin/"
        assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_crafted_promotion_post_by_non_admin_changes_nothing(client, make_user, role):
    """A non-Admin posting an admin change form to promote themselves changes nothing."""
    make_user("admin@example.com", role="admin")
    actor = make_user(f"{role}@example.com", role=role)
    client.force_login(actor)
    admin_group = Group.objects.get(name="Admin")
    response = client.post(
        f"/admin/accounts/user/{actor.pk}/change/",
        {
            "email": actor.email,
            "role": "admin",
            "is_active": "on",
            "is_superuser": "on",
            "is_staff": "on",
            "groups": [admin_group.pk],
            "user_permissions": list(Permission.objects.values_list("pk", flat=True)),
        },
    )
    assert response.status_code == 302
    actor = User.objects.get(pk=actor.pk)
    assert get_role(actor) is Role(role)
    assert not actor.is_superuser
    assert not actor.is_staff
    assert not actor.user_permissions.exists()


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_crafted_add_post_by_non_admin_creates_nothing(client, make_user, role):
    """A non-Admin posting the admin add form creates no user."""
    make_user("admin@example.com", role="admin")
    client.force_login(make_user(f"{role}@example.com", role=role))
    response = client.post(
        "/admin/accounts/user/add/",
        {
            "email": "mallory@example.com",
            "role": "admin",
            "password1": "Quiet-Meadow-Lantern-7",
            "password2": "Quiet-Meadow-Lantern-7",
            "is_superuser": "on",
        },
    )
    assert response.status_code == 302
    assert not User.objects.filter(email="mallory@example.com").exists()


def test_user_list_columns_filters_and_search(admin_client, make_user):
    """The user list shows role, active, 2FA and last-login columns, filters by role and searches email."""
    make_user("editor@example.com", role="editor")
    make_user("viewer@example.com", role="viewer")
    page = admin_client.get("/admin/accounts/user/").content.decode().lower()
    for heading in ("role", "is active", "2fa", "last login"):
        assert f">{heading}</a>" in page or f">{heading}</span>" in page, heading
    filtered = admin_client.get("/admin/accounts/user/?role=editor").context["cl"].result_list
    assert [user.email for user in filtered] == ["editor@example.com"]
    found = admin_client.get("/admin/accounts/user/?q=viewer@").context["cl"].result_list
    assert [user.email for user in found] == ["viewer@example.com"]


def test_unknown_role_filter_lists_nobody(admin_client):
    """A role filter value that is no role lists no users instead of failing."""
    response = admin_client.get("/admin/accounts/user/?role=owner")
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


def test_role_groups_read_only(admin_client):
    """The role groups are listed with their counts but cannot be edited."""
    page = admin_client.get("/admin/auth/group/").content.decode()
    for name in ("Admin", "Editor", "Viewer"):
        assert name in page
    editor = Group.objects.get(name="Editor")
    response = admin_client.post(f"/admin/auth/group/{editor.pk}/change/", {"name": "Owners"})
    assert response.status_code == 403
    assert Group.objects.get(pk=editor.pk).name == "Editor"
