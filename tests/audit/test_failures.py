"""A log that cannot be written never stops the audited action, and the checks report it."""

import io
import logging
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.test import Client

from audit.checks import E201, W202
from audit.models import WriteFailure

pytestmark = pytest.mark.django_db

NOBODY = 65534


@contextmanager
def unwritable(folder):
    """Make ``folder`` read-only for this process; as root, also drop the effective user to nobody."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o500)
    # root writes to read-only folders anyway, so the test runs as nobody.
    drop = os.geteuid() == 0
    if drop:
        os.seteuid(NOBODY)
    try:
        yield
    finally:
        if drop:
            os.seteuid(0)
        folder.chmod(0o700)


def check_ids() -> list[str]:
    return [message.id for message in run_checks(include_deployment_checks=False, tags=["dango"])]


@pytest.fixture
def locked_folder(settings):
    # pytest's own temporary folders are closed to other users, so nobody
    # could not even reach this one; a folder of its own in /tmp can be reached.
    base = Path(tempfile.mkdtemp(prefix="dango-audit-"))
    base.chmod(0o755)
    folder = base / "locked"
    folder.mkdir()
    settings.AUDIT_LOG_PATH = folder / "audit.jsonl"
    settings.AUDIT_LOG_FSYNC = False
    yield folder
    folder.chmod(0o700)
    shutil.rmtree(base)


def test_unwritable_log_does_not_stop_sign_in(locked_folder, make_user, caplog):
    """Sign-in succeeds with an unwritable log; the failure is logged at ERROR, counted and reported."""
    user = make_user("dora@example.com")
    WriteFailure.objects.all().delete()
    client = Client(REMOTE_ADDR="192.0.2.70")

    with caplog.at_level(logging.ERROR, logger="audit"), unwritable(locked_folder):
        response = client.post("/accounts/login/", {"login": "dora@example.com", "password": "Correct-Horse-42"})

    assert response.status_code == 302
    assert client.get("/").context["user"] == user
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert any("Could not write audit event login_success" in record.getMessage() for record in errors)
    failure = WriteFailure.objects.get(pk=1)
    assert failure.count == 1
    assert "Permission denied" in failure.last_error
    assert W202 in check_ids()


def test_write_failure_check_quiet_without_failures(audit_log):
    """W202 stays quiet while no write has failed."""
    assert W202 not in check_ids()


def test_acknowledge_failures_quiets_check(audit_log, run_audit):
    """acknowledge-failures records the count as reviewed, so W202 stops until the next failure."""
    WriteFailure.objects.create(pk=1, count=3, last_error="disk full")
    assert W202 in check_ids()

    stdout, _ = run_audit("acknowledge-failures")

    assert "Acknowledged 3 audit write failure(s)" in stdout
    assert WriteFailure.objects.get(pk=1).acknowledged_count == 3
    assert W202 not in check_ids()
    stdout, _ = run_audit("acknowledge-failures")
    assert "no unacknowledged" in stdout


def test_check_reports_unseen_failures_only(audit_log):
    """W202 names the number of failures above the acknowledged count and the last error."""
    WriteFailure.objects.create(pk=1, count=5, acknowledged_count=3, last_error="No space left on device")

    messages = [message for message in run_checks(tags=["dango"]) if message.id == W202]

    assert len(messages) == 1
    assert messages[0].msg.startswith("2 audit record(s) could not be written")
    assert "No space left on device" in messages[0].msg
    assert "acknowledge-failures" in messages[0].hint


def test_broken_receiver_does_not_stop_action(audit_log, make_user, monkeypatch, caplog):
    """A bug inside the audit path is logged and counted; the sign-in still succeeds."""
    make_user("dora@example.com")

    def broken(*args, **kwargs):
        raise RuntimeError("bug in the audit path")

    monkeypatch.setattr("audit.receivers.record_event", broken)
    with caplog.at_level(logging.ERROR, logger="audit"):
        response = Client().post("/accounts/login/", {"login": "dora@example.com", "password": "Correct-Horse-42"})

    assert response.status_code == 302
    assert "audit.login_success" in caplog.text
    assert WriteFailure.objects.get(pk=1).last_error == "RuntimeError in audit receiver audit.login_success"


def test_writable_check_quiet(audit_log):
    """E201 stays quiet when the log's folder can be created and written."""
    assert E201 not in check_ids()


def test_writable_check_fires_for_read_only_folder(locked_folder):
    """E201 fires when the log's folder is not writable by the running user."""
    with unwritable(locked_folder):
        messages = [message for message in run_checks(tags=["dango"]) if message.id == E201]

    assert len(messages) == 1
    assert f"the folder {locked_folder} is not writable" in messages[0].msg


def test_writable_check_fires_for_read_only_log_file(locked_folder):
    """E201 fires when the log file exists but is read-only, even in a writable folder."""
    log = locked_folder / "audit.jsonl"
    log.write_text("")
    log.chmod(0o444)
    drop = os.geteuid() == 0
    if drop:
        locked_folder.chmod(0o777)
        os.seteuid(NOBODY)
    try:
        messages = [message for message in run_checks(tags=["dango"]) if message.id == E201]
    finally:
        if drop:
            os.seteuid(0)

    assert len(messages) == 1
    assert f"{log} is not writable" in messages[0].msg


def test_writable_check_fires_when_folder_is_a_file(tmp_path, settings):
    """E201 fires when a file stands where the log's folder should be."""
    blocker = tmp_path / "logs"
    blocker.write_text("not a folder")
    settings.AUDIT_LOG_PATH = blocker / "audit.jsonl"

    messages = [message for message in run_checks(tags=["dango"]) if message.id == E201]

    assert len(messages) == 1
    assert "is a file" in messages[0].msg


def test_check_command_reports_failure(audit_log):
    """``manage.py check`` prints W202 after a failed write."""
    from django.core.management import call_command

    WriteFailure.objects.create(pk=1, count=1, last_error="disk full")
    stderr = io.StringIO()
    call_command("check", stdout=io.StringIO(), stderr=stderr)

    assert "dango.W202" in stderr.getvalue()
