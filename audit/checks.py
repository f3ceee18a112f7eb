import os
from pathlib import Path

from django.core.checks import Error, Warning, register
from django.db import DatabaseError

from audit import app_settings
from audit.files import lock_path_for

E201 = "dango.E201"
W202 = "dango.W202"


def _writable(path: Path) -> bool:
    # effective_ids: the process writes with its effective user, which is
    # what a privilege-dropping server or test sets.
    return os.access(path, os.W_OK, effective_ids=os.access in os.supports_effective_ids)


def _unwritable_reason(path: Path) -> tuple[str, Path] | None:
    """Return (why, what to fix) when the log at ``path`` cannot be appended to and rotated."""
    folder = path.parent
    existing = folder
    try:
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        is_folder = existing.is_dir()
    except OSError as error:
        return f"{existing} cannot be accessed ({error.strerror})", existing
    if not is_folder:
        return f"{existing} is a file, so the folder {folder} cannot be created", existing
    if not _writable(existing):
        # Appending needs the lock file and rotation renames files, so the
        # folder itself must be writable, not only the log file.
        return f"the folder {existing} is not writable by this user", existing
    for file in (path, lock_path_for(path)):
        if file.exists() and not _writable(file):
            return f"{file} is not writable by this user", file
    return None


@register("dango")
def check_audit_log_writable(app_configs=None, **kwargs) -> list:
    path = app_settings.log_path()
    problem = _unwritable_reason(path)
    if problem is None:
        return []
    reason, fix = problem
    return [
        Error(
            f"The audit log {path} cannot be written: {reason}.",
            hint=f"Make {fix} a folder (or file) writable by the user running Dango, for example: chown dango {fix}; "
            "or point AUDIT_LOG_PATH at a writable place.",
            id=E201,
        )
    ]


@register("dango")
def check_audit_write_failures(app_configs=None, databases=None, **kwargs) -> list:
    from audit.models import WriteFailure

    try:
        failure = WriteFailure.objects.filter(pk=1).first()
    except DatabaseError:
        # Before migrate there is no table, and so no failure to report.
        return []
    if failure and failure.count > failure.acknowledged_count:
        unseen = failure.count - failure.acknowledged_count
        when = f"{failure.last_failed_at:%Y-%m-%d %H:%M:%S} UTC" if failure.last_failed_at else "an unknown time"
        return [
            Warning(
                f"{unseen} audit record(s) could not be written; the last failure was at {when}: "
                f"{failure.last_error or 'no error message stored'}",
                hint="Fix the cause (disk space, permissions), then run 'manage.py audit verify' and "
                "'manage.py audit acknowledge-failures'.",
                id=W202,
            )
        ]
    return []


E203 = "dango.E203"


@register("dango", deploy=True)
def check_audit_chain(app_configs=None, **kwargs):
    """Verify the whole hash chain; only with --deploy, because it reads every record."""
    from audit.verify import verify_chain

    path = app_settings.log_path()
    try:
        result = verify_chain(path)
    except OSError as error:
        return [Error(f"The audit log {path} cannot be read: {error.strerror}.",
                      hint="Make it readable by the user running Dango.", id=E203)]
    if result.ok:
        return []
    return [
        Error(
            f"The audit log's hash chain is broken at {result.chain_break}.",
            hint="Records were edited, removed, inserted or reordered. Keep the files for investigation, run "
            "'manage.py audit verify' for details, and restore the log from a backup if needed.",
            id=E203,
        )
    ]
