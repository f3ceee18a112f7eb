import pytest
from django.contrib.auth.models import Group

from rbac.permissions import PERMISSIONS, get_permission
from rbac.roles import ROLE_PERMISSIONS, Role
from rbac.sync import find_drift

pytestmark = pytest.mark.django_db

# The role table written out by hand, so a change to rbac/roles.py cannot pass
# by changing the expectation along with it.
VIEWER = {
    "source.view",
    "dbt.view",
    "dashboard.view",
    "health.view",
    "logs.view",
    "notebooks.view",
    "governance.view",
    "scheduler.view",
}
EDITOR = VIEWER | {
    "source.sync",
    "source.manage",
    "csv.upload",
    "csv.delete",
    "dbt.run",
    "dbt.manage",
    "dashboard.create",
    "query.execute",
    "config.view",
    "notebooks.execute",
    "notebooks.manage",
}
ADMIN = EDITOR | {
    "source.view_credentials",
    "dashboard.manage",
    "platform.manage",
    "config.manage",
    "users.view",
    "users.manage",
    "auth.manage",
    "audit.view",
    "governance.manage",
    "scheduler.manage",
}
EXPECTED = {Role.ADMIN: ADMIN, Role.EDITOR: EDITOR, Role.VIEWER: VIEWER}


def _group_permission_names(group):
    return {name for name, permission in PERMISSIONS.items() if group.permissions.filter(codename=permission.codename).exists()}


def test_registry_has_29_permissions():
    """The registry holds exactly the 29 named permissions."""
    assert len(PERMISSIONS) == 29
    assert set(PERMISSIONS) == ADMIN


@pytest.mark.parametrize("role,count", [(Role.ADMIN, 29), (Role.EDITOR, 19), (Role.VIEWER, 8)])
def test_role_table_exact_names(role, count):
    """Each role in the registry carries exactly its named permissions."""
    assert len(ROLE_PERMISSIONS[role]) == count
    assert set(ROLE_PERMISSIONS[role]) == EXPECTED[role]


@pytest.mark.parametrize("role,count", [(Role.ADMIN, 29), (Role.EDITOR, 19), (Role.VIEWER, 8)])
def test_role_group_permission_count(role, count):
    """After migrate, each role group in the database carries exactly its named permissions."""
    group = Group.objects.get(name=role.group_name)
    assert group.permissions.count() == count
    assert _group_permission_names(group) == EXPECTED[role]


@pytest.mark.parametrize("role", list(Role))
def test_user_has_perm_matches_role(make_user, role):
    """A user of each role passes has_perm for its permissions and fails it for all others."""
    user = make_user(f"{role.value}@example.com", role=role.value)
    granted = {name for name, permission in PERMISSIONS.items() if user.has_perm(permission.perm)}
    assert granted == EXPECTED[role]


def test_editor_holds_every_viewer_permission():
    """Viewer is a strict subset of Editor, which is a strict subset of Admin."""
    assert ROLE_PERMISSIONS[Role.VIEWER] < ROLE_PERMISSIONS[Role.EDITOR] < ROLE_PERMISSIONS[Role.ADMIN]


def test_codename_is_dotted_name_with_underscore():
    """The stored codename replaces the dot, because has_perm splits on the first dot."""
    assert get_permission("source.view_credentials").codename == "source_view_credentials"
    assert get_permission("source.view_credentials").perm == "rbac.source_view_credentials"


def test_unknown_permission_raises():
    """Looking up an unregistered name raises LookupError naming it."""
    with pytest.raises(LookupError, match="'source.edit'"):
        get_permission("source.edit")


@pytest.mark.parametrize("value,role", [("admin", Role.ADMIN), ("Editor", Role.EDITOR), (" VIEWER ", Role.VIEWER)])
def test_role_parse_accepts_any_case(value, role):
    """Role names parse case-insensitively."""
    assert Role.parse(value) is role


def test_role_parse_rejects_unknown():
    """An unknown role name raises ValueError listing the valid choices."""
    with pytest.raises(ValueError, match="admin, editor, viewer"):
        Role.parse("owner")


def test_migrated_database_has_no_drift():
    """A freshly migrated database matches the registry."""
    assert find_drift().is_clean


@pytest.mark.postgres
def test_postgres_roles_in_sync():
    """On PostgreSQL too, migrate creates the three role groups without drift."""
    assert find_drift().is_clean
    assert Group.objects.filter(name__in=[r.group_name for r in Role]).count() == 3
