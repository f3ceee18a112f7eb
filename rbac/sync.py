"""Keep the role groups' permissions equal to the registry."""

import logging
from dataclasses import dataclass, field

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from rbac.permissions import APP_LABEL, PERMISSIONS, get_permission_by_codename
from rbac.roles import ROLE_PERMISSIONS, Role
from rbac.signals import role_permissions_changed

logger = logging.getLogger("rbac")


@dataclass
class RoleDrift:
    role: Role
    missing_group: bool = False
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def is_clean(self) -> bool:
        return not (self.missing_group or self.missing or self.extra)


@dataclass
class DriftReport:
    roles: list[RoleDrift]
    missing_permissions: list[str]
    stale_permissions: list[str]

    @property
    def is_clean(self) -> bool:
        return not self.missing_permissions and not self.stale_permissions and all(r.is_clean for r in self.roles)


def _group_permission_names(group: Group) -> set[str]:
    names = set()
    for codename in group.permissions.filter(content_type__app_label=APP_LABEL).values_list("codename", flat=True):
        permission = get_permission_by_codename(codename)
        names.add(permission.name if permission else f"<unregistered:{codename}>")
    # Permissions from other apps never belong on a role group.
    for perm in group.permissions.exclude(content_type__app_label=APP_LABEL).values_list(
        "content_type__app_label", "codename"
    ):
        names.add(f"<foreign:{perm[0]}.{perm[1]}>")
    return names


def find_drift() -> DriftReport:
    """Compare the database with the registry without changing anything."""
    stored = set(Permission.objects.filter(content_type__app_label=APP_LABEL).values_list("codename", flat=True))
    expected = {p.codename for p in PERMISSIONS.values()}
    roles = []
    for role, names in ROLE_PERMISSIONS.items():
        group = Group.objects.filter(name=role.group_name).first()
        if group is None:
            roles.append(RoleDrift(role, missing_group=True, missing=sorted(names)))
            continue
        held = _group_permission_names(group)
        roles.append(RoleDrift(role, missing=sorted(names - held), extra=sorted(held - names)))
    return DriftReport(
        roles=roles,
        missing_permissions=sorted(expected - stored),
        stale_permissions=sorted(stored - expected),
    )


@transaction.atomic
def sync_roles() -> DriftReport:
    """Create or repair permissions and role groups; return the drift that was repaired."""
    before = find_drift()
    content_type, _ = ContentType.objects.get_or_create(app_label=APP_LABEL, model="rolepermission")

    by_codename = {}
    for permission in PERMISSIONS.values():
        row, created = Permission.objects.get_or_create(
            content_type=content_type,
            codename=permission.codename,
            defaults={"name": permission.description},
        )
        if not created and row.name != permission.description:
            row.name = permission.description
            row.save(update_fields=["name"])
        by_codename[permission.codename] = row
    Permission.objects.filter(content_type__app_label=APP_LABEL).exclude(codename__in=by_codename).delete()

    for drift in before.roles:
        group, _ = Group.objects.get_or_create(name=drift.role.group_name)
        wanted = [by_codename[PERMISSIONS[name].codename] for name in sorted(ROLE_PERMISSIONS[drift.role])]
        group.permissions.set(wanted)
        if not drift.missing_group and (drift.missing or drift.extra):
            logger.warning(
                "Role %s drifted from the registry and was repaired: added %s, removed %s",
                drift.role.label,
                drift.missing,
                drift.extra,
            )
            role_permissions_changed.send(
                sender=Group, role=drift.role, added=list(drift.missing), removed=list(drift.extra)
            )
    return before


def sync_roles_after_migrate(sender, app_config=None, using="default", **kwargs) -> None:
    # post_migrate fires once per app; syncing once, for this app, is enough.
    if app_config is None or app_config.label != APP_LABEL:
        return
    sync_roles()
