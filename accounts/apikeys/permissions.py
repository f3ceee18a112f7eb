"""Effective permissions of an API key: its scopes intersected with its owner's current role.

The role is read on every request, so demoting or deactivating the owner
takes effect on the key's next request. Scopes only ever narrow the role.
"""

from rbac.assignment import get_role
from rbac.permissions import PERMISSIONS
from rbac.roles import ROLE_PERMISSIONS


def role_permissions(user) -> frozenset[str]:
    """Return the permission names of the user's role; none for an inactive or role-less user."""
    if user is None or not user.is_active:
        return frozenset()
    role = get_role(user)
    return ROLE_PERMISSIONS.get(role, frozenset()) if role else frozenset()


def effective_permissions(key, user) -> frozenset[str]:
    granted = role_permissions(user)
    if key.scopes is None:
        return granted
    return granted & frozenset(key.scopes)


def restrict_user_to(user, permissions: frozenset[str]) -> None:
    """Restrict ``user``'s permission checks to ``permissions``.

    The instance attributes shadow PermissionsMixin's methods, so every guard
    that calls ``user.has_perm`` (rbac's decorators, the admin, templates) sees
    the key's effective permissions instead of the full role.
    """
    perms = frozenset(PERMISSIONS[name].perm for name in permissions)

    def has_perm(perm, obj=None):
        return user.is_active and obj is None and perm in perms

    def has_perms(perm_list, obj=None):
        return all(has_perm(perm, obj) for perm in perm_list)

    def has_module_perms(app_label):
        return user.is_active and any(perm.startswith(f"{app_label}.") for perm in perms)

    user.has_perm = has_perm
    user.has_perms = has_perms
    user.has_module_perms = has_module_perms
    user.get_all_permissions = lambda obj=None: set(perms) if obj is None else set()
    user.get_user_permissions = lambda obj=None: set()
    user.get_group_permissions = lambda obj=None: set(perms) if obj is None else set()
