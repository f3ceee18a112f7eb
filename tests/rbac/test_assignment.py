import pytest
from django.db import transaction

from accounts.models import User
from rbac.assignment import RoleChangeError, active_admins, check_can_remove, get_role, set_role
from rbac.roles import Role

pytestmark = pytest.mark.django_db


def codes(error: RoleChangeError) -> list[str]:
    return [item.code for item in error.error_list]


def test_last_admin_cannot_be_demoted(admin_user):
    """Demoting the only active Admin raises last_admin and keeps the role."""
    with pytest.raises(RoleChangeError) as caught:
        set_role(admin_user, "editor")
    assert codes(caught.value) == ["last_admin"]
    assert get_role(User.objects.get(pk=admin_user.pk)) is Role.ADMIN


def test_admin_can_be_demoted_when_another_remains(admin_user, make_user):
    """With a second active Admin, one of them can be demoted."""
    second = make_user("second@example.com", role="admin")
    set_role(second, "viewer", actor=admin_user)
    assert get_role(User.objects.get(pk=second.pk)) is Role.VIEWER


def test_inactive_admin_does_not_count(admin_user, make_user):
    """A deactivated Admin does not keep the last active Admin demotable."""
    second = make_user("second@example.com", role="admin")
    second.is_active = False
    second.save()
    with pytest.raises(RoleChangeError) as caught:
        set_role(admin_user, "viewer")
    assert codes(caught.value) == ["last_admin"]


def test_admin_cannot_demote_self(admin_user, make_user):
    """An Admin cannot remove their own Admin role, even with other Admins present."""
    make_user("second@example.com", role="admin")
    with pytest.raises(RoleChangeError) as caught:
        set_role(admin_user, "viewer", actor=admin_user)
    assert codes(caught.value) == ["self_demotion"]


@pytest.mark.parametrize("actor_role", ["editor", "viewer"])
def test_non_admin_cannot_grant_admin(make_user, admin_user, actor_role):
    """Only an Admin may grant the Admin role."""
    actor = make_user("actor@example.com", role=actor_role)
    target = make_user("target@example.com", role="viewer")
    with pytest.raises(RoleChangeError) as caught:
        set_role(target, "admin", actor=actor)
    assert codes(caught.value) == ["admin_grant_forbidden"]
    assert get_role(User.objects.get(pk=target.pk)) is Role.VIEWER


def test_non_admin_cannot_grant_admin_to_self(make_user, admin_user):
    """An Editor cannot promote themselves."""
    editor = make_user("editor@example.com", role="editor")
    with pytest.raises(RoleChangeError):
        set_role(editor, "admin", actor=editor)


@pytest.mark.parametrize("action", ["deactivate", "delete"])
def test_check_can_remove_rejects_self(admin_user, make_user, action):
    """An actor cannot deactivate or delete their own account."""
    make_user("second@example.com", role="admin")
    with pytest.raises(RoleChangeError) as caught:
        check_can_remove(admin_user, actor=admin_user, action=action)
    assert codes(caught.value) == [f"self_{action}"]


def test_model_save_rejects_deactivating_last_admin(admin_user):
    """Saving the last active Admin as inactive raises, whatever code path does it."""
    admin_user.is_active = False
    with pytest.raises(RoleChangeError) as caught, transaction.atomic():
        admin_user.save()
    assert codes(caught.value) == ["last_admin"]
    assert User.objects.get(pk=admin_user.pk).is_active


def test_model_delete_rejects_last_admin(admin_user):
    """Deleting the last active Admin raises and keeps the row."""
    with pytest.raises(RoleChangeError), transaction.atomic():
        admin_user.delete()
    assert User.objects.filter(pk=admin_user.pk).exists()


def test_queryset_delete_of_every_admin_rejected(admin_user, make_user):
    """Deleting all Admins in one queryset raises, though each alone would leave another."""
    make_user("second@example.com", role="admin")
    with pytest.raises(RoleChangeError), transaction.atomic():
        User.objects.filter(groups__name="Admin").delete()
    assert active_admins().count() == 2


def test_queryset_delete_keeping_an_admin_allowed(admin_user, make_user):
    """Deleting some Admins in one queryset is fine while another active Admin stays."""
    second = make_user("second@example.com", role="admin")
    third = make_user("third@example.com", role="admin")
    User.objects.filter(pk__in=[second.pk, third.pk]).delete()
    assert list(active_admins()) == [admin_user]


def test_non_admin_can_be_deactivated_and_deleted(admin_user, make_user):
    """The guards leave ordinary users alone."""
    viewer = make_user("viewer@example.com", role="viewer")
    viewer.is_active = False
    viewer.save()
    viewer.delete()
    assert not User.objects.filter(email="viewer@example.com").exists()
