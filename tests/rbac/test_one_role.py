from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command
from django.db import transaction

from accounts.models import User
from rbac.assignment import RoleChangeError, get_role, set_role
from rbac.roles import ROLE_GROUP_NAMES, Role
from rbac.sync import find_drift
from tests.accounts.helpers import record_signals, run_manage

pytestmark = pytest.mark.django_db


def role_groups(user):
    return sorted(user.groups.filter(name__in=ROLE_GROUP_NAMES).values_list("name", flat=True))


def run_roles(*args):
    stdout, stderr = StringIO(), StringIO()
    try:
        call_command("roles", *args, stdout=stdout, stderr=stderr)
    except CommandError as error:
        return error, stdout.getvalue(), stderr.getvalue()
    return None, stdout.getvalue(), stderr.getvalue()


def test_create_user_holds_one_role(make_user):
    """A new user is a member of exactly the role group it was created with."""
    user = make_user("e@example.com", role="editor")
    assert role_groups(user) == ["Editor"]
    assert get_role(user) is Role.EDITOR


def test_set_role_replaces_previous_role(make_user, admin_user):
    """set_role leaves the user in the new role group only and returns the old role."""
    user = make_user("v@example.com", role="viewer")
    assert set_role(user, "editor", actor=admin_user) is Role.VIEWER
    assert role_groups(user) == ["Editor"]
    set_role(user, Role.ADMIN, actor=admin_user)
    user.refresh_from_db()
    assert role_groups(user) == ["Admin"]
    assert user.is_staff


def test_set_role_from_admin_clears_staff(make_user, admin_user):
    """is_staff follows the role: it is removed with the Admin role."""
    second = make_user("second@example.com", role="admin")
    assert second.is_staff
    set_role(second, "viewer", actor=admin_user)
    second.refresh_from_db()
    assert not second.is_staff
    assert role_groups(second) == ["Viewer"]


def test_set_role_from_admin_clears_superuser(make_user, admin_user):
    """A superuser who loses the Admin role loses superuser status, which would bypass every role check."""
    root = User.objects.create_superuser("root@example.com", "Correct-Horse-42")
    assert root.is_superuser
    set_role(root, "viewer", actor=admin_user)
    root.refresh_from_db()
    assert not root.is_superuser
    assert not root.has_perm("rbac.users_manage")


def test_set_same_role_changes_nothing(make_user):
    """Setting the role a user already holds sends no role_changed signal."""
    user = make_user("v@example.com", role="viewer")
    with record_signals() as log:
        assert set_role(user, "viewer") is Role.VIEWER
    assert log.count("role_changed") == 0


def test_set_role_rejects_unknown_role(make_user):
    """An unknown role raises ValueError and leaves the user's role alone."""
    user = make_user("v@example.com", role="viewer")
    with pytest.raises(ValueError, match="Unknown role 'owner'"):
        set_role(user, "owner")
    assert role_groups(user) == ["Viewer"]


@pytest.mark.parametrize("group_name", ["Admin", "Editor"])
def test_direct_group_add_rejected(make_user, group_name):
    """Adding a second role group through user.groups raises and adds nothing."""
    user = make_user("v@example.com", role="viewer")
    with pytest.raises(RoleChangeError), transaction.atomic():
        user.groups.add(Group.objects.get(name=group_name))
    assert role_groups(user) == ["Viewer"]


def test_adding_held_role_group_is_no_op(make_user):
    """Adding the group the user already holds changes no membership, so it is allowed."""
    user = make_user("v@example.com", role="viewer")
    user.groups.add(Group.objects.get(name="Viewer"))
    assert role_groups(user) == ["Viewer"]


def test_reverse_group_add_rejected(make_user):
    """Adding a user through group.user_set raises, so a second role cannot come from the group side."""
    user = make_user("v@example.com", role="viewer")
    with pytest.raises(RoleChangeError), transaction.atomic():
        Group.objects.get(name="Admin").user_set.add(user)
    assert role_groups(user) == ["Viewer"]


@pytest.mark.parametrize("operation", ["remove", "clear", "set"])
def test_direct_group_removal_rejected(make_user, operation):
    """Removing, clearing or replacing role groups directly raises and keeps the role."""
    user = make_user("v@example.com", role="viewer")
    viewer = Group.objects.get(name="Viewer")
    with pytest.raises(RoleChangeError), transaction.atomic():
        if operation == "remove":
            user.groups.remove(viewer)
        elif operation == "clear":
            user.groups.clear()
        else:
            user.groups.set([Group.objects.get(name="Editor")])
    assert role_groups(user) == ["Viewer"]


def test_other_groups_stay_editable(make_user):
    """Groups that are not roles can be added and removed freely."""
    user = make_user("v@example.com", role="viewer")
    team = Group.objects.create(name="Finance team")
    user.groups.add(team)
    user.groups.remove(team)
    assert role_groups(user) == ["Viewer"]


def test_roles_command_prints_matrix(db):
    """manage.py roles prints every permission with the role totals and exits 0 on a clean database."""
    error, stdout, stderr = run_roles()
    assert error is None, stderr
    assert "scheduler.manage" in stdout
    assert stdout.splitlines()[-2].split() == ["total", "29", "19", "8"]
    assert "match the registry" in stdout


def test_roles_command_fails_on_user_without_role(db):
    """An active user with no role makes manage.py roles fail, naming the user."""
    User.objects.create(email="norole@example.com")
    error, _, stderr = run_roles()
    assert error is not None
    assert "norole@example.com holds 0 roles" in stderr


def test_roles_command_fails_on_user_with_two_roles(make_user):
    """An active user in two role groups (written around set_role) makes manage.py roles fail."""
    user = make_user("two@example.com", role="viewer")
    # Writing the through table directly sends no m2m_changed signal, as a raw SQL edit would.
    User.groups.through.objects.create(user=user, group=Group.objects.get(name="Editor"))
    error, _, stderr = run_roles()
    assert error is not None
    assert "two@example.com holds 2 roles" in stderr
    assert get_role(User.objects.get(pk=user.pk)) is None


def test_roles_command_ignores_inactive_user_without_role(db):
    """Deactivated users need no role, so they are not reported."""
    User.objects.create(email="gone@example.com", is_active=False)
    error, _, stderr = run_roles()
    assert error is None, stderr


def test_roles_command_fails_on_missing_permission(db):
    """A permission removed from a role group is drift: the command fails and names it."""
    editor = Group.objects.get(name="Editor")
    editor.permissions.remove(Permission.objects.get(codename="query_execute"))
    error, _, stderr = run_roles()
    assert error is not None
    assert "Role Editor lacks query.execute." in stderr


def test_roles_command_fails_on_extra_permission(db):
    """A permission added to a role group beyond the registry is drift, including foreign ones."""
    viewer = Group.objects.get(name="Viewer")
    viewer.permissions.add(Permission.objects.get(codename="users_manage"))
    viewer.permissions.add(Permission.objects.get(codename="delete_session"))
    error, _, stderr = run_roles()
    assert error is not None
    assert "Role Viewer carries users.manage" in stderr
    assert "Role Viewer carries <foreign:sessions.delete_session>" in stderr


def test_roles_command_fails_on_missing_group(db):
    """A deleted role group is drift."""
    Group.objects.get(name="Viewer").delete()
    error, _, stderr = run_roles()
    assert error is not None
    assert "Role group Viewer is missing." in stderr


def test_roles_sync_repairs_group_drift(db):
    """--sync restores the registry's permissions and a later check is clean."""
    editor = Group.objects.get(name="Editor")
    editor.permissions.remove(Permission.objects.get(codename="query_execute"))
    editor.permissions.add(Permission.objects.get(codename="audit_view"))
    error, stdout, _ = run_roles("--sync")
    assert error is None
    assert "Repaired this drift:" in stdout
    assert "Role Editor lacks query.execute." in stdout
    assert "Role Editor carries audit.view" in stdout
    assert find_drift().is_clean
    assert run_roles()[0] is None


def test_roles_sync_recreates_missing_group(db):
    """--sync recreates a deleted role group with its permissions."""
    Group.objects.get(name="Admin").delete()
    error, _, _ = run_roles("--sync")
    assert error is None
    assert Group.objects.get(name="Admin").permissions.count() == 29


def test_roles_sync_does_not_hide_role_holder_problems(db):
    """--sync repairs groups but still fails while a user holds no role."""
    User.objects.create(email="norole@example.com")
    error, _, stderr = run_roles("--sync")
    assert error is not None
    assert "norole@example.com" in stderr


def test_roles_sync_on_clean_database_says_nothing_to_repair(db):
    """--sync on a clean database reports that nothing needed repair."""
    error, stdout, _ = run_roles("--sync")
    assert error is None
    assert "nothing to repair" in stdout


def test_roles_exit_status(tmp_path):
    """Run as a program, roles exits 0 when clean, 1 on drift, and 0 again after --sync."""
    assert run_manage(tmp_path, "migrate").returncode == 0
    assert run_manage(tmp_path, "roles").returncode == 0
    drift = "from django.contrib.auth.models import Group; Group.objects.get(name='Viewer').permissions.clear()"
    assert run_manage(tmp_path, "shell", "-c", drift).returncode == 0

    drifted = run_manage(tmp_path, "roles")
    assert drifted.returncode == 1
    assert "Role Viewer lacks source.view." in drifted.stderr
    repaired = run_manage(tmp_path, "roles", "--sync")
    assert repaired.returncode == 0, repaired.stderr
    assert "Repaired this drift:" in repaired.stdout
