import os

from django.core.checks import Error, Warning, register
from django.db import DatabaseError

from audit import app_settings

E101 = "dango.E101"
W102 = "dango.W102"


@register("dango")
def check_audit_log_writable(app_configs=None, **kwargs):
    path = app_settings.log_path()
    folder = path.parent
    probe = path if path.exists() else folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not os.access(probe, os.W_OK):
        return [
            Error(
                f"The audit log {path} is not writable by this user.",
                hint=f"Make {probe} writable by the user running Dango (for example: chown dango {probe}).",
                id=E101,
            )
        ]
    return []


@register("dango")
def check_audit_write_failures(app_configs=None, databases=None, **kwargs):
    from audit.models import WriteFailure

    try:
        failure = WriteFailure.objects.filter(pk=1).first()
    except DatabaseError:
        return []
    if failure and failure.count > failure.acknowledged_count:
        unseen = failure.count - failure.acknowledged_count
        return [
            Warning(
                f"{unseen} audit record(s) could not be written; the last failure was at "
                f"{failure.last_failed_at:%Y-%m-%d %H:%M:%S} UTC: {failure.last_error}",
                hint="Fix the cause (disk space, permissions), then run 'manage.py audit verify' and "
                "'manage.py audit acknowledge-failures'.",
                id=W102,
            )
        ]
    return []
