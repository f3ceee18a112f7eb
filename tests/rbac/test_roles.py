import pytest
from django.contrib.auth.models import Group

from rbac.permissions import PERMISSIONS
from rbac.roles import ROLE_PERMISSIONS, Role
from rbac.sync import find_drift

pytestmark = pytest.mark.django_db


def _names(group):
    return {f"{p.codename}" for p in group.permissions.all()}


def test_registry_has_29_permissions():
    assert len(PERMISSIONS) == 29


@pytest.mark.parametrize("role,count", [(Role.ADMIN, 29), (Role.EDITOR, 19), (Role.VIEWER, 8)])
def test_role_group_permission_count(role, count):
    group = Group.objects.get(name=role.group_name)
    assert group.permissions.count() == count
    assert _names(group) == {PERMISSIONS[n].codename for n in ROLE_PERMISSIONS[role]}


def test_editor_holds_every_viewer_permission():
    assert ROLE_PERMISSIONS[Role.VIEWER] < ROLE_PERMISSIONS[Role.EDITOR] < ROLE_PERMISSIONS[Role.ADMIN]


def test_migrated_database_has_no_drift():
    assert find_drift().is_clean


@pytest.mark.postgres
def test_postgres_roles_in_sync():
    assert find_drift().is_clean
    assert Group.objects.filter(name__in=[r.group_name for r in Role]).count() == 3
