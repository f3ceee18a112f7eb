from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import User
from rbac.assignment import get_role
from rbac.roles import Role
from tests.accounts.helpers import PASSWORD, is_signed_in, printed_password, record_signals, run_manage, sign_in

pytestmark = pytest.mark.django_db


def users(*args) -> str:
    out = StringIO()
    call_command("users", *args, stdout=out)
    return out.getvalue()


def snapshot():
    """Every user's email, role, active flag, password hash and forced-change flag."""
    return sorted(
        (u.email, get_role(u), u.is_active, u.password, u.must_change_password) for u in User.objects.all()
    )


@pytest.fixture
def team(admin_user, make_user):
    make_user("editor@example.com", role="editor")
    make_user("viewer@example.com", role="viewer")
    return admin_user


def test_list_shows_every_user(team):
    """list prints one line per user with role and status."""
    lines = users("list").splitlines()
    assert lines[0].split()[:3] == ["email", "role", "active"]
    rows = {line.split()[0]: line.split()[1:3] for line in lines[1:]}
    assert rows == {
        "admin@example.com": ["admin", "yes"],
        "editor@example.com": ["editor", "yes"],
        "viewer@example.com": ["viewer", "yes"],
    }


def test_list_filters(team):
    """list --role and --inactive narrow the list."""
    assert [line.split()[0] for line in users("list", "--role", "Editor").splitlines()[1:]] == ["editor@example.com"]
    users("deactivate", "viewer@example.com")
    assert [line.split()[0] for line in users("list", "--inactive").splitlines()[1:]] == ["viewer@example.com"]


def test_create_prints_one_time_password(team):
    """create makes a user with the role and a printed password that must be changed."""
    with record_signals() as log:
        output = users("create", "New.Person@Example.com", "--role", "editor", "--name", "New Person")
    user = User.objects.get(email="new.person@example.com")
    assert get_role(user) is Role.EDITOR
    assert user.full_name == "New Person"
    assert user.must_change_password
    assert user.check_password(printed_password(output))
    assert log.only("user_created")["user"] == user


def test_create_existing_email_fails(team):
    """create with an address that exists in any case fails and changes nothing."""
    before = snapshot()
    with pytest.raises(CommandError, match="'editor@example.com' already exists"):
        users("create", "EDITOR@example.com", "--role", "viewer")
    assert snapshot() == before


def test_create_invalid_email_fails(team):
    """create with an invalid address fails with the validation message."""
    with pytest.raises(CommandError, match="Enter a valid email address"):
        users("create", "not-an-email", "--role", "viewer")
    assert not User.objects.filter(email="not-an-email").exists()


def test_set_role(team):
    """set-role changes the role and reports old and new role."""
    output = users("set-role", "Viewer@Example.com", "EDITOR")
    assert "viewer@example.com: Viewer -> Editor." in output
    assert get_role(User.objects.get(email="viewer@example.com")) is Role.EDITOR


def test_set_same_role_reports_no_change(team):
    """set-role to the current role reports that nothing changed."""
    assert "nothing changed" in users("set-role", "viewer@example.com", "viewer")


def test_set_role_last_admin_fails(team):
    """set-role cannot demote the last active Admin."""
    before = snapshot()
    with pytest.raises(CommandError, match="last active Admin"):
        users("set-role", "admin@example.com", "viewer")
    assert snapshot() == before


def test_deactivate_and_reactivate(team):
    """deactivate blocks sign-in and ends sessions; reactivate lets the user in again."""
    phone = Client()
    sign_in(phone, "viewer@example.com")
    with record_signals() as log:
        assert "Deactivated viewer@example.com." in users("deactivate", "viewer@example.com")
    assert log.count("user_deactivated") == 1
    assert not is_signed_in(phone)
    blocked = Client()
    assert sign_in(blocked, "viewer@example.com")["Location"] == "/accounts/inactive/"
    assert not is_signed_in(blocked)

    with record_signals() as log:
        assert "Reactivated viewer@example.com." in users("reactivate", "viewer@example.com")
    assert log.count("user_reactivated") == 1
    assert sign_in(Client(), "viewer@example.com").status_code == 302


def test_deactivate_twice_fails(team):
    """Deactivating an inactive user, or reactivating an active one, is an error."""
    users("deactivate", "viewer@example.com")
    with pytest.raises(CommandError, match="already deactivated"):
        users("deactivate", "viewer@example.com")
    with pytest.raises(CommandError, match="already active"):
        users("reactivate", "editor@example.com")


def test_deactivate_last_admin_fails(team):
    """deactivate refuses the last active Admin."""
    with pytest.raises(CommandError, match="last active Admin"):
        users("deactivate", "admin@example.com")
    assert User.objects.get(email="admin@example.com").is_active


def test_delete_requires_yes(team):
    """delete without --yes explains itself and deletes nothing."""
    with pytest.raises(CommandError, match="--yes"):
        users("delete", "viewer@example.com")
    assert User.objects.filter(email="viewer@example.com").exists()


def test_delete(team):
    """delete --yes removes the user and sends user_deleted once."""
    with record_signals() as log:
        users("delete", "viewer@example.com", "--yes")
    assert not User.objects.filter(email="viewer@example.com").exists()
    assert log.only("user_deleted")["email"] == "viewer@example.com"


def test_delete_last_admin_fails(team):
    """delete refuses the last active Admin."""
    with pytest.raises(CommandError, match="last active Admin"):
        users("delete", "admin@example.com", "--yes")
    assert User.objects.filter(email="admin@example.com").exists()


def test_reset_password(team):
    """reset-password prints a working one-time password, forces a change and ends sessions."""
    phone = Client()
    sign_in(phone, "editor@example.com")
    with record_signals() as log:
        output = users("reset-password", "editor@example.com")
    user = User.objects.get(email="editor@example.com")
    assert user.check_password(printed_password(output))
    assert not user.check_password(PASSWORD)
    assert user.must_change_password
    assert log.only("password_changed")["reason"] == "command"
    assert not is_signed_in(phone)


@pytest.mark.parametrize(
    "args",
    [
        ("set-role", "nobody@example.com", "editor"),
        ("deactivate", "nobody@example.com"),
        ("reactivate", "nobody@example.com"),
        ("delete", "nobody@example.com", "--yes"),
        ("reset-password", "nobody@example.com"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_unknown_email_fails(team, args):
    """Every subcommand names an unknown email, points to list, and changes nothing."""
    before = snapshot()
    with pytest.raises(CommandError, match=r"No user has the email address 'nobody@example.com'.*users list"):
        users(*args)
    assert snapshot() == before


@pytest.mark.parametrize(
    "args",
    [
        ("set-role", "viewer@example.com", "owner"),
        ("create", "new@example.com", "--role", "owner"),
        ("list", "--role", "owner"),
    ],
    ids=["set-role", "create", "list"],
)
def test_bad_role_fails(team, args):
    """A bad role names the value and the valid choices, and changes nothing."""
    before = snapshot()
    with pytest.raises(CommandError, match=r"Unknown role 'owner'. Choose one of: admin, editor, viewer."):
        users(*args)
    assert snapshot() == before


def test_exit_status_on_errors(tmp_path):
    """Run as a program, errors exit with status 1 and print the message on stderr."""
    assert run_manage(tmp_path, "bootstrap").returncode == 0
    unknown = run_manage(tmp_path, "users", "set-role", "nobody@example.com", "editor")
    assert unknown.returncode == 1
    assert "No user has the email address 'nobody@example.com'" in unknown.stderr
    bad_role = run_manage(tmp_path, "users", "set-role", "admin@localhost", "owner")
    assert bad_role.returncode == 1
    assert "Unknown role 'owner'" in bad_role.stderr
    last_admin = run_manage(tmp_path, "users", "deactivate", "admin@localhost")
    assert last_admin.returncode == 1
    assert "last active Admin" in last_admin.stderr
    listing = run_manage(tmp_path, "users", "list")
    assert listing.returncode == 0
    assert listing.stdout.splitlines()[1].split()[:3] == ["admin@localhost", "admin", "yes"]
