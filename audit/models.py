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
