from django.db import models


class WriteFailure(models.Model):
    """How often appending to the audit log failed, in one row (pk=1).

    Kept in the database because the failing process may be a web worker
    while ``manage.py check`` runs in another process.
    """

    count = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    last_failed_at = models.DateTimeField(null=True, blank=True)
    acknowledged_count = models.PositiveIntegerField(
        default=0, help_text="Failures already reviewed; check reports only those above this number."
    )

    class Meta:
        verbose_name = "audit write failure counter"


class AuditRecord(models.Model):
    """Admin entry point for the audit log viewer; it has no table.

    The records live in the JSONL files, not in the database. This
    unmanaged model only gives the admin a place to list the viewer, whose
    pages read the files through ``audit.query``.
    """

    class Meta:
        managed = False
        default_permissions = ()
        verbose_name = "audit record"
        verbose_name_plural = "audit log"
