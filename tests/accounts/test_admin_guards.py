import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.messages import get_messages
from django.test import Client

from accounts.forms import UserAddForm, UserAdminForm
from accounts.models import User, UserSession
from rbac.assignment import active_admins, get_role
from rbac.roles import Role
from tests.accounts.helpers import PASSWORD, is_signed_in, record_signals, sign_in

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Quiet-Meadow-Lantern-7"


def change_url(user):
    return f"/admin/accounts/user/{user.pk}/change/"


def change_data(user, **fields):
    """Form data as the change page submits it, with ``fields`` replacing or (None) removing values."""
    role = get_role(user)
    data = {"email": user.email, "full_name": user.full_name, "role": role.value if role else "viewer"}
    if user.is_active:
        data["is_active"] = "on"
    if user.is_superuser:
        data["is_superuser"] = "on"
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def run_action(client, action, users, **extra):
    return client.post(
        "/admin/accounts/user/", {"action": action, "_selected_action": [u.pk for u in users], **extra}
    )


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def fresh(user):
    return User.objects.get(pk=user.pk)


@pytest.fixture
def viewer(make_user):
    return make_user("viewer@example.com", role="viewer")


@pytest.fixture
def second_admin(make_user):
    return make_user("second@example.com", role="admin")


# Changing roles in the change form


def test_admin_changes_role(admin_client, admin_user, viewer):
    """An Admin changes another user's role; role_changed names the old and new role and the actor."""
    with record_signals() as log:
        response = admin_client.post(change_url(viewer), change_data(viewer, role="editor"))
    assert response.status_code == 302
    assert get_role(fresh(viewer)) is Role.EDITOR
    event = log.only("role_changed")
    assert (event["old_role"], event["new_role"], event["actor"]) == (Role.VIEWER, Role.EDITOR, admin_user)


def test_admin_grants_admin_role(admin_client, viewer):
    """An Admin can make another user an Admin, which opens the admin to them."""
    admin_client.post(change_url(viewer), change_data(viewer, role="admin"))
    viewer = fresh(viewer)
    assert get_role(viewer) is Role.ADMIN
    assert viewer.is_staff


def test_crafted_raw_fields_ignored(admin_client, viewer):
    """groups, user_permissions, is_staff and the password hash posted to the change form change nothing."""
    old_hash = viewer.password
    data = change_data(
        viewer,
        groups=[Group.objects.get(name="Admin").pk, Group.objects.get(name="Editor").pk],
        user_permissions=list(Permission.objects.values_list("pk", flat=True)),
        is_staff="on",
        password="argon2$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$forged",
        must_change_password="on",
        full_name="Vera Viewer",
    )
    response = admin_client.post(change_url(viewer), data)
    assert response.status_code == 302
    viewer = fresh(viewer)
    assert viewer.full_name == "Vera Viewer"
    assert list(viewer.groups.values_list("name", flat=True)) == ["Viewer"]
    assert not viewer.user_permissions.exists()
    assert not viewer.is_staff
    assert viewer.password == old_hash
    assert not viewer.must_change_password


def test_superuser_needs_admin_role(admin_client, viewer):
    """Superuser status on a user who is not an Admin is a form error and changes nothing."""
    response = admin_client.post(change_url(viewer), change_data(viewer, is_superuser="on"))
    assert response.status_code == 200
    assert "Superuser status is only for users with the Admin role." in response.content.decode()
    assert not fresh(viewer).is_superuser


def test_admin_grants_superuser_with_admin_role(admin_client, viewer):
    """An Admin can grant superuser status together with the Admin role."""
    admin_client.post(change_url(viewer), change_data(viewer, role="admin", is_superuser="on"))
    assert fresh(viewer).is_superuser


def test_demoting_superuser_in_form_clears_it(admin_client, make_user):
    """Demoting a superuser Admin in the form, with the box left ticked, is refused."""
    root = User.objects.create_superuser("root@example.com", PASSWORD)
    response = admin_client.post(change_url(root), change_data(root, role="viewer"))
    assert response.status_code == 200
    assert fresh(root).is_superuser
    admin_client.post(change_url(root), change_data(root, role="viewer", is_superuser=None))
    root = fresh(root)
    assert get_role(root) is Role.VIEWER
    assert not root.is_superuser


def test_admin_demotes_other_admin(admin_client, second_admin):
    """An Admin can demote another Admin while they themselves remain one."""
    admin_client.post(change_url(second_admin), change_data(second_admin, role="viewer"))
    second_admin = fresh(second_admin)
    assert get_role(second_admin) is Role.VIEWER
    assert not second_admin.is_staff


def test_admin_deactivates_other_user(admin_client, viewer):
    """Unticking Active deactivates the user, ends their sessions and sends user_deactivated once."""
    phone = Client()
    sign_in(phone, viewer.email)
    with record_signals() as log:
        admin_client.post(change_url(viewer), change_data(viewer, is_active=None))
    assert not fresh(viewer).is_active
    assert log.only("user_deactivated")["user"] == viewer
    assert log.only("session_revoked")["reason"] == "deactivated"
    assert not is_signed_in(phone)


# Guards on the Admin's own account


def test_own_role_and_status_not_editable(admin_client, admin_user):
    """An Admin's own change form has no role, active or superuser field."""
    form = admin_client.get(change_url(admin_user)).context["adminform"].form
    assert "role" not in form.fields
    assert "is_active" not in form.fields
    assert "is_superuser" not in form.fields


def test_crafted_self_demotion_ignored(admin_client, admin_user, second_admin):
    """A crafted POST demoting and deactivating oneself saves the other fields and ignores those."""
    data = change_data(admin_user, role="viewer", is_active=None, full_name="Ada Admin")
    response = admin_client.post(change_url(admin_user), data)
    assert response.status_code == 302
    me = fresh(admin_user)
    assert me.full_name == "Ada Admin"
    assert get_role(me) is Role.ADMIN
    assert me.is_active


def test_cannot_delete_self_in_delete_view(admin_client, admin_user, second_admin):
    """The delete page for one's own account is forbidden."""
    assert admin_client.get(f"/admin/accounts/user/{admin_user.pk}/delete/").status_code == 403
    assert admin_client.post(f"/admin/accounts/user/{admin_user.pk}/delete/", {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=admin_user.pk).exists()


def test_bulk_deactivate_including_self_changes_nobody(admin_client, admin_user, viewer, second_admin):
    """A bulk deactivation that includes oneself is refused as a whole."""
    response = run_action(admin_client, "deactivate_users", [admin_user, viewer])
    assert "You cannot deactivate your own account." in messages_of(response)
    assert fresh(admin_user).is_active
    assert fresh(viewer).is_active


def test_bulk_delete_including_self_deletes_nobody(admin_client, admin_user, viewer, second_admin):
    """A bulk delete that includes oneself is refused before the confirmation page, even when confirmed."""
    response = run_action(admin_client, "delete_selected_users", [admin_user, viewer])
    assert "You cannot delete your own account." in messages_of(response)
    run_action(admin_client, "delete_selected_users", [admin_user, viewer], post="yes")
    assert User.objects.filter(pk__in=[admin_user.pk, viewer.pk]).count() == 2


def test_bulk_delete_of_others(admin_client, viewer, make_user):
    """A confirmed bulk delete removes the users and sends user_deleted once each."""
    editor = make_user("editor@example.com", role="editor")
    confirm = run_action(admin_client, "delete_selected_users", [viewer, editor])
    assert confirm.status_code == 200
    assert User.objects.filter(pk__in=[viewer.pk, editor.pk]).count() == 2
    with record_signals() as log:
        run_action(admin_client, "delete_selected_users", [viewer, editor], post="yes")
    assert not User.objects.filter(pk__in=[viewer.pk, editor.pk]).exists()
    assert sorted(kwargs["email"] for name, kwargs in log.events if name == "user_deleted") == [
        "editor@example.com",
        "viewer@example.com",
    ]


def test_bulk_deactivate_and_reactivate(admin_client, viewer, make_user):
    """Bulk actions deactivate and reactivate others, announcing each user once."""
    editor = make_user("editor@example.com", role="editor")
    with record_signals() as log:
        run_action(admin_client, "deactivate_users", [viewer, editor])
    assert log.count("user_deactivated") == 2
    assert not fresh(viewer).is_active
    assert not fresh(editor).is_active
    with record_signals() as log:
        run_action(admin_client, "reactivate_users", [viewer, editor])
    assert log.count("user_reactivated") == 2
    assert fresh(viewer).is_active
    assert fresh(editor).is_active


def test_bulk_deactivate_of_other_admins_keeps_actor(admin_client, admin_user, second_admin, make_user):
    """Deactivating every other Admin is allowed: the acting Admin remains."""
    third = make_user("third@example.com", role="admin")
    run_action(admin_client, "deactivate_users", [second_admin, third])
    assert list(active_admins()) == [admin_user]


def test_delete_view_for_other_user(admin_client, viewer):
    """The delete page removes another user."""
    response = admin_client.post(f"/admin/accounts/user/{viewer.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=viewer.pk).exists()


# The forms themselves, with actors the admin site would not let in


def form_data(user, **fields):
    return change_data(user, **fields)


def test_form_refuses_demoting_last_admin(admin_user):
    """With no acting user (the operator), the change form still refuses to demote the last Admin."""
    form = UserAdminForm(instance=admin_user, data=form_data(admin_user, role="viewer"), actor=None)
    assert not form.is_valid()
    assert "is the last active Admin" in str(form.errors)


def test_form_refuses_deactivating_last_admin(admin_user):
    """The change form refuses to deactivate the last active Admin."""
    form = UserAdminForm(instance=admin_user, data=form_data(admin_user, is_active=None), actor=None)
    assert not form.is_valid()
    assert "is the last active Admin" in str(form.errors)


def test_form_refuses_self_demotion(admin_user, second_admin):
    """The change form refuses an Admin demoting themselves even if the field were present."""
    form = UserAdminForm(instance=admin_user, data=form_data(admin_user, role="editor"), actor=admin_user)
    assert not form.is_valid()
    assert "You cannot remove your own Admin role" in str(form.errors)


def test_form_refuses_self_deactivation(admin_user, second_admin):
    """The change form refuses an Admin deactivating themselves even if the field were present."""
    form = UserAdminForm(instance=admin_user, data=form_data(admin_user, is_active=None), actor=admin_user)
    assert not form.is_valid()
    assert "You cannot deactivate your own account." in str(form.errors)


@pytest.mark.parametrize("actor_role", ["editor", "viewer"])
def test_form_refuses_admin_grant_by_non_admin(admin_user, viewer, make_user, actor_role):
    """A non-Admin actor cannot grant the Admin role or superuser status through the change form."""
    actor = make_user("actor@example.com", role=actor_role)
    form = UserAdminForm(instance=viewer, data=form_data(viewer, role="admin"), actor=actor)
    assert not form.is_valid()
    assert "Only an Admin can grant the Admin role." in str(form.errors)
    form = UserAdminForm(instance=viewer, data=form_data(viewer, role="admin", is_superuser="on"), actor=actor)
    assert not form.is_valid()
    assert "Only an Admin can grant superuser status." in str(form.errors)


@pytest.mark.parametrize("actor_role", ["editor", "viewer"])
def test_add_form_refuses_admin_grant_by_non_admin(admin_user, make_user, actor_role):
    """A non-Admin actor cannot create an Admin through the add form."""
    actor = make_user("actor@example.com", role=actor_role)
    data = {"email": "new@example.com", "role": "admin", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    form = UserAddForm(data=data, actor=actor)
    assert not form.is_valid()
    assert "Only an Admin can grant the Admin role." in str(form.errors)


# Adding users


def add_user(client, **fields):
    data = {
        "email": "new@example.com",
        "full_name": "New Person",
        "role": "editor",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
        "must_change_password": "on",
    }
    data.update(fields)
    return client.post("/admin/accounts/user/add/", {k: v for k, v in data.items() if v is not None})


def test_admin_adds_user(admin_client):
    """The add form creates a user with the chosen role who must change the password; user_created is sent once."""
    with record_signals() as log:
        response = add_user(admin_client)
    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    assert get_role(user) is Role.EDITOR
    assert user.check_password(NEW_PASSWORD)
    assert user.must_change_password
    assert log.only("user_created")["user"] == user


def test_add_form_ignores_raw_fields(admin_client):
    """is_superuser, is_staff, groups and user_permissions posted to the add form are ignored."""
    add_user(
        admin_client,
        role="viewer",
        is_superuser="on",
        is_staff="on",
        groups=[Group.objects.get(name="Admin").pk],
        user_permissions=list(Permission.objects.values_list("pk", flat=True)),
    )
    user = User.objects.get(email="new@example.com")
    assert get_role(user) is Role.VIEWER
    assert not user.is_superuser
    assert not user.is_staff
    assert not user.user_permissions.exists()


def test_add_form_rejects_email_in_other_case(admin_client, viewer):
    """An address that differs only in case from an existing one is a form error."""
    response = add_user(admin_client, email="Viewer@Example.COM")
    assert response.status_code == 200
    assert "Another user already has the email address viewer@example.com." in response.content.decode()
    assert User.objects.filter(email__iexact="viewer@example.com").count() == 1


def test_add_form_rejects_mismatched_passwords(admin_client):
    """Two different passwords are a form error and create no user."""
    response = add_user(admin_client, password2="Quiet-Meadow-Lantern-8")
    assert response.status_code == 200
    assert not User.objects.filter(email="new@example.com").exists()


# Setting another user's password


def test_admin_sets_password(admin_client, viewer):
    """An Admin setting a password forces a change at next sign-in and signs the user out elsewhere."""
    phone = Client()
    sign_in(phone, viewer.email)
    with record_signals() as log:
        response = admin_client.post(
            f"/admin/accounts/user/{viewer.pk}/password/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
        )
    assert response.status_code == 302
    viewer = fresh(viewer)
    assert viewer.check_password(NEW_PASSWORD)
    assert viewer.must_change_password
    assert log.only("password_changed")["reason"] == "admin"
    assert log.only("session_revoked")["reason"] == "password_changed"
    assert not is_signed_in(phone)


def test_admin_sets_own_password_keeps_session(client, admin_user, verified_login):
    """An Admin setting their own password in the admin stays signed in, without a forced change."""
    verified_login(client, admin_user)
    response = client.post(
        f"/admin/accounts/user/{admin_user.pk}/password/", {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert not fresh(admin_user).must_change_password
    assert is_signed_in(client)
    # Django's admin view changes the session key once more after the form saved.
    shown_key = client.get("/account/").context["current_session_key"]
    current = UserSession.objects.get(user=admin_user, ended_at=None)
    assert shown_key == current.session_key
    assert current.session_key == client.session.session_key


def test_admin_password_change_page_redirects(admin_client):
    """The admin's own password change page sends Admins to the site's one."""
    response = admin_client.get("/admin/password_change/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/change/"
