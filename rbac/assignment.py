"""Read and change a user's role, enforcing the rules that keep admins in charge.

Rules, checked by ``check_role_change`` before anything is written:

- the last active Admin cannot be demoted, deactivated or deleted;
- an Admin cannot demote, deactivate or delete themselves;
- only an Admin can grant the Admin role.

``actor`` is None for changes made from the command line by the operator,
who is trusted like an Admin but is not a user.
"""

import contextvars
from contextlib import contextmanager

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction

from rbac.roles import ROLE_GROUP_NAMES, Role
from rbac.signals import role_changed


# Set while a database restore loads users with their groups as they were
# saved; the one-role rule held when the data was dumped.
_restoring = contextvars.ContextVar("rbac_restoring", default=False)


@contextmanager
def restoring_role_groups():
    token = _restoring.set(True)
    try:
        yield
    finally:
        _restoring.reset(token)


def is_restoring() -> bool:
    return _restoring.get()


class RoleChangeError(ValidationError):
    """A role or lifecycle change that the admin rules forbid."""


def get_role(user) -> Role | None:
    """Return the user's role, or None when they hold none (or, wrongly, several)."""
    cached = getattr(user, "_rbac_role_cache", None)
    if cached is not None:
        return cached
    if user is None or not getattr(user, "pk", None):
        return None
    names = list(user.groups.filter(name__in=ROLE_GROUP_NAMES).values_list("name", flat=True))
    role = Role.from_group_name(names[0]) if len(names) == 1 else None
    user._rbac_role_cache = role
    return role


def forget_cached_role(user) -> None:
    for attribute in ("_rbac_role_cache", "_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(attribute, None)


def active_admins(exclude_pk=None):
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(is_active=True, groups__name=Role.ADMIN.group_name)
    if exclude_pk is not None:
        users = users.exclude(pk=exclude_pk)
    return users


def is_admin(user) -> bool:
    return bool(user and getattr(user, "is_authenticated", False) and get_role(user) is Role.ADMIN)


def check_role_change(user, new_role: Role, actor=None) -> None:
    old_role = get_role(user)
    if new_role is Role.ADMIN and old_role is not Role.ADMIN and actor is not None and not is_admin(actor):
        raise RoleChangeError("Only an Admin can grant the Admin role.", code="admin_grant_forbidden")
    if old_role is Role.ADMIN and new_role is not Role.ADMIN:
        if actor is not None and actor.pk == user.pk:
            raise RoleChangeError(
                "You cannot remove your own Admin role. Ask another Admin to do it.", code="self_demotion"
            )
        if user.is_active and not active_admins(exclude_pk=user.pk).exists():
            raise RoleChangeError(
                f"{user.email} is the last active Admin. Give another active user the Admin role first.",
                code="last_admin",
            )


def check_can_remove(user, actor=None, action: str = "deactivate", removing_pks=()) -> None:
    """Refuse to deactivate or delete ``user`` when it would leave no active Admin.

    ``removing_pks`` names other users removed by the same operation (a bulk
    delete), which must not be counted as the Admins that remain.
    """
    if actor is not None and actor.pk == user.pk:
        raise RoleChangeError(f"You cannot {action} your own account.", code=f"self_{action}")
    remaining = active_admins(exclude_pk=user.pk).exclude(pk__in=list(removing_pks))
    if get_role(user) is Role.ADMIN and user.is_active and not remaining.exists():
        raise RoleChangeError(
            f"{user.email} is the last active Admin and cannot be {action}d. "
            "Give another active user the Admin role first.",
            code="last_admin",
        )


@transaction.atomic
def set_role(user, role: "Role | str", actor=None, request=None) -> Role | None:
    """Make ``role`` the user's only role; return the previous one.

    Admin access to the Django admin follows the role: ``is_staff`` is true
    exactly for Admins, and ``is_superuser`` is cleared with any other role.
    """
    new_role = Role.parse(role)
    # Lock the user row so two concurrent demotions cannot both see
    # "another Admin remains" and leave none.
    type(user).objects.select_for_update().filter(pk=user.pk).first()
    forget_cached_role(user)
    old_role = get_role(user)
    check_role_change(user, new_role, actor)
    if old_role is new_role:
        return old_role

    role_groups = Group.objects.filter(name__in=ROLE_GROUP_NAMES)
    user._rbac_allow_role_write = True
    try:
        user.groups.remove(*role_groups)
        user.groups.add(Group.objects.get(name=new_role.group_name))
    finally:
        del user._rbac_allow_role_write
    is_staff = new_role is Role.ADMIN
    changed_fields = []
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        changed_fields.append("is_staff")
    if not is_staff and getattr(user, "is_superuser", False):
        # has_perm is always true for a superuser, so the flag would keep every
        # Admin permission after the demotion.
        user.is_superuser = False
        changed_fields.append("is_superuser")
    if changed_fields:
        user.save(update_fields=changed_fields)
    forget_cached_role(user)
    user._rbac_role_cache = new_role
    role_changed.send(
        sender=type(user), user=user, old_role=old_role, new_role=new_role, actor=actor, request=request
    )
    return old_role
