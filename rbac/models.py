from django.db import models

from rbac.permissions import PERMISSIONS


class RolePermission(models.Model):
    """Anchor for the registry's permissions; it has no table of its own.

    Django attaches permissions to a model's content type, so the registry
    needs one model in the ``rbac`` app to hang them on.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [(p.codename, p.description) for p in PERMISSIONS.values()]
