"""The three roles and the permissions each one carries.

A role is a Django group of the same name. Every active user is a member of
exactly one role group; ``set_role`` is the only code that changes it.
"""

from enum import Enum

from rbac.permissions import PERMISSIONS


class Role(str, Enum):
    ADMIN = "admin"
    EDITOR = "editor"
    VIEWER = "viewer"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def group_name(self) -> str:
        return self.label

    @classmethod
    def parse(cls, value: "str | Role") -> "Role":
        """Accept ``admin``, ``Admin`` or ``ADMIN``; reject anything else with the valid choices."""
        if isinstance(value, Role):
            return value
        normalized = str(value).strip().lower()
        for role in cls:
            if role.value == normalized:
                return role
        choices = ", ".join(role.value for role in cls)
        raise ValueError(f"Unknown role {value!r}. Choose one of: {choices}.")

    @classmethod
    def from_group_name(cls, name: str) -> "Role | None":
        for role in cls:
            if role.group_name == name:
                return role
        return None


VIEWER_PERMISSIONS = frozenset(
    {
        "source.view",
        "dbt.view",
        "dashboard.view",
        "health.view",
        "logs.view",
        "notebooks.view",
        "governance.view",
        "scheduler.view",
    }
)

EDITOR_PERMISSIONS = VIEWER_PERMISSIONS | {
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

ADMIN_PERMISSIONS = frozenset(PERMISSIONS)

ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.ADMIN: frozenset(ADMIN_PERMISSIONS),
    Role.EDITOR: frozenset(EDITOR_PERMISSIONS),
    Role.VIEWER: VIEWER_PERMISSIONS,
}

_unknown = sorted(name for names in ROLE_PERMISSIONS.values() for name in names if name not in PERMISSIONS)
if _unknown:
    raise ValueError(f"Role table names unregistered permissions: {', '.join(_unknown)}")

ROLE_GROUP_NAMES = frozenset(role.group_name for role in Role)
