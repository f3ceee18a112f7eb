from django.db import models


class StoredSecret(models.Model):
    """Admin entry for the values in .dlt/secrets.toml; it has no database table.

    The secrets live in the file, not in the database. This unmanaged model
    only gives the Django admin a place to list them (masked), and it
    declares no permissions: access follows the source.view permission.
    """

    class Meta:
        managed = False
        default_permissions = ()
        verbose_name = "stored secret"
        verbose_name_plural = "stored secrets"
