"""The permission registry: every permission a Dango role can carry.

Names are ``<domain>.<action>``. Django codenames cannot contain a dot (the
``app_label.codename`` form of ``has_perm`` splits on it), so each name is
stored as the codename ``<domain>_<action>`` of the ``rbac`` app.
"""

from dataclasses import dataclass

APP_LABEL = "rbac"


@dataclass(frozen=True)
class Permission:
    name: str
    description: str

    @property
    def codename(self) -> str:
        return self.name.replace(".", "_")

    @property
    def perm(self) -> str:
        """The string that ``User.has_perm`` accepts."""
        return f"{APP_LABEL}.{self.codename}"


_PERMISSIONS = [
    Permission("source.view", "See data sources and their configuration, secrets masked"),
    Permission("source.view_credentials", "Reveal a data source's secret values"),
    Permission("source.sync", "Start a data source sync"),
    Permission("source.manage", "Add, change and remove data sources and their secrets"),
    Permission("csv.upload", "Upload CSV files"),
    Permission("csv.delete", "Delete uploaded CSV files"),
    Permission("dbt.view", "See dbt models and runs"),
    Permission("dbt.run", "Run dbt models"),
    Permission("dbt.manage", "Change dbt project files"),
    Permission("dashboard.view", "See dashboards"),
    Permission("dashboard.create", "Create dashboards"),
    Permission("query.execute", "Run SQL queries"),
    Permission("dashboard.manage", "Change and delete any dashboard"),
    Permission("health.view", "See platform health"),
    Permission("logs.view", "Read platform logs"),
    Permission("platform.manage", "Start, stop and upgrade the platform"),
    Permission("config.view", "Read platform configuration"),
    Permission("config.manage", "Change platform configuration"),
    Permission("users.view", "See users and their roles"),
    Permission("users.manage", "Invite, change, deactivate and delete users"),
    Permission("auth.manage", "Change authentication settings (2FA policy, OAuth providers, API keys of others)"),
    Permission("audit.view", "Read and export the audit log"),
    Permission("notebooks.view", "See notebooks"),
    Permission("notebooks.execute", "Run notebooks"),
    Permission("notebooks.manage", "Create, change and delete notebooks"),
    Permission("governance.view", "See data governance settings"),
    Permission("governance.manage", "Change data governance settings"),
    Permission("scheduler.view", "See scheduled jobs"),
    Permission("scheduler.manage", "Create, change and delete scheduled jobs"),
]


def _build_registry(permissions: list[Permission]) -> dict[str, Permission]:
    registry: dict[str, Permission] = {}
    duplicates = sorted({p.name for p in permissions if sum(q.name == p.name for q in permissions) > 1})
    if duplicates:
        raise ValueError(f"Duplicate permission names in the registry: {', '.join(duplicates)}")
    for permission in permissions:
        domain, dot, action = permission.name.partition(".")
        if not (dot and domain.isidentifier() and action.isidentifier()):
            raise ValueError(f"Permission name {permission.name!r} is not of the form '<domain>.<action>'.")
        registry[permission.name] = permission
    return registry


PERMISSIONS: dict[str, Permission] = _build_registry(_PERMISSIONS)


def get_permission(name: str) -> Permission:
    """Return the registered permission called ``name``.

    An unknown name is a programming error, so this raises instead of letting
    a typo turn into a check that silently denies everyone.
    """
    try:
        return PERMISSIONS[name]
    except KeyError:
        raise LookupError(
            f"Unknown permission {name!r}. Registered permissions are listed in rbac/permissions.py; "
            "use the dotted name, for example 'source.view'."
        ) from None


def get_permission_by_codename(codename: str) -> Permission | None:
    for permission in PERMISSIONS.values():
        if permission.codename == codename:
            return permission
    return None
