import json
import subprocess
import sys

import pytest
from django.core.management import CommandError

from audit.chain import compute_hash
from audit.files import rotated_files
from audit.verify import verify_chain
from tests.audit.conftest import fill_log, read_lines
from tests.audit.test_writer import REPO_ROOT

RECORDS = 12


def rewrite(path, lines):
    path.write_text("".join(line + "\n" for line in lines))


def edit_details(line: str) -> str:
    record = json.loads(line)
    record["details"] = {"index": 999}
    return json.dumps(record, separators=(",", ":"))


def edit_and_rehash(line: str) -> str:
    record = json.loads(line)
    record["ip"] = "203.0.113.66"
    record["hash"] = compute_hash(record)
    return json.dumps(record, separators=(",", ":"))


@pytest.fixture
def log_path(audit_log):
    fill_log(audit_log.path, RECORDS)
    return audit_log.path


def test_intact_log_verifies(log_path, run_audit):
    """An untouched log verifies and the command names the record count and head."""
    stdout, _ = run_audit("verify")

    assert "intact: 12 record(s), seq 1 to 12, in 1 file(s)" in stdout
    assert json.loads(read_lines(log_path)[-1])["hash"] in stdout


@pytest.mark.parametrize("position", [0, 5, RECORDS - 1])
def test_edited_line_fails(log_path, run_audit, position):
    """Editing one record's content breaks the chain at that record's seq."""
    lines = read_lines(log_path)
    lines[position] = edit_details(lines[position])
    rewrite(log_path, lines)

    with pytest.raises(CommandError, match=rf"seq {position + 1} \(line {position + 1} of .*edited"):
        run_audit("verify")


@pytest.mark.parametrize("position", [0, 5, RECORDS - 2])
def test_edited_and_rehashed_line_fails(log_path, run_audit, position):
    """A record edited with a recomputed hash breaks the chain at the record after it."""
    lines = read_lines(log_path)
    lines[position] = edit_and_rehash(lines[position])
    rewrite(log_path, lines)

    with pytest.raises(CommandError, match=rf"seq {position + 2} .*prev_hash does not match the hash of seq {position + 1}"):
        run_audit("verify")


@pytest.mark.parametrize("position", [0, 5, RECORDS - 2])
def test_deleted_line_fails(log_path, run_audit, position):
    """Deleting one record names the missing seq."""
    lines = read_lines(log_path)
    del lines[position]
    rewrite(log_path, lines)

    expected = rf"seq {position + 1} .*(is missing|chain starts at seq 2)"
    with pytest.raises(CommandError, match=expected):
        run_audit("verify")


@pytest.mark.parametrize("position", [0, 5, RECORDS - 2])
def test_swapped_lines_fail(log_path, run_audit, position):
    """Swapping two neighbouring records names the seq that should come first."""
    lines = read_lines(log_path)
    lines[position], lines[position + 1] = lines[position + 1], lines[position]
    rewrite(log_path, lines)

    with pytest.raises(CommandError, match=rf"seq {position + 1} "):
        run_audit("verify")


@pytest.mark.parametrize("position", [1, 6, RECORDS])
def test_inserted_copy_fails(log_path, run_audit, position):
    """Inserting a copy of an earlier record names the repeated seq."""
    lines = read_lines(log_path)
    lines.insert(position, lines[0])
    rewrite(log_path, lines)

    with pytest.raises(CommandError, match=rf"seq 1 .*appears again after seq {position}"):
        run_audit("verify")


def test_inserted_forged_line_fails(log_path, run_audit):
    """A forged record with a valid hash inserted mid-log breaks the chain at the displaced record."""
    lines = read_lines(log_path)
    previous = json.loads(lines[4])
    forged = {**previous, "seq": 6, "event": "login_success", "prev_hash": previous["hash"]}
    forged["hash"] = compute_hash(forged)
    lines.insert(5, json.dumps(forged, separators=(",", ":")))
    rewrite(log_path, lines)

    with pytest.raises(CommandError, match=r"seq 6 .*appears again after seq 6"):
        run_audit("verify")


def test_garbage_line_fails(log_path, run_audit):
    """A line that is not JSON names the seq expected at that position."""
    lines = read_lines(log_path)
    lines.insert(3, "not json")
    rewrite(log_path, lines)

    with pytest.raises(CommandError, match=r"seq 4 \(line 4 of .*not a JSON record"):
        run_audit("verify")


def test_missing_final_newline_fails(log_path, run_audit):
    """A last line without its newline counts as a cut-off write."""
    log_path.write_bytes(log_path.read_bytes()[:-1])

    with pytest.raises(CommandError, match="no newline"):
        run_audit("verify")


def test_rotated_chain_verifies(audit_log, run_audit):
    """The chain verifies across rotated files."""
    fill_log(audit_log.path, 40, max_bytes=2000)
    assert len(rotated_files(audit_log.path)) >= 3

    stdout, _ = run_audit("verify")

    assert "intact: 40 record(s)" in stdout


def test_break_in_rotated_file_named(audit_log, run_audit):
    """A record edited inside a rotated file is found and its file named."""
    fill_log(audit_log.path, 40, max_bytes=2000)
    second = rotated_files(audit_log.path)[1]
    lines = read_lines(second)
    first_seq = json.loads(lines[0])["seq"]
    lines[1] = edit_details(lines[1])
    rewrite(second, lines)

    with pytest.raises(CommandError, match=rf"seq {first_seq + 1} \(line 2 of .*{second.name}\)"):
        run_audit("verify")


def test_deleted_rotated_file_fails(audit_log):
    """Removing a rotated file from the middle of the log breaks the chain."""
    fill_log(audit_log.path, 40, max_bytes=2000)
    rotated_files(audit_log.path)[1].unlink()

    result = verify_chain(audit_log.path)

    assert not result.ok
    assert "is missing" in str(result.chain_break)


def test_empty_log_verifies_with_notice(audit_log, run_audit):
    """A log with no records yet verifies with a notice on stderr."""
    stdout, stderr = run_audit("verify")

    assert stdout == ""
    assert "no records yet" in stderr


def test_verify_exit_status(log_path, tmp_path):
    """``manage.py audit verify`` exits with status 1 on a broken chain."""
    lines = read_lines(log_path)
    del lines[3]
    rewrite(log_path, lines)
    environment = {
        **__import__("os").environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DANGO_PROJECT_ROOT": str(tmp_path),
    }
    script = (
        "import django, sys; django.setup(); from django.test import override_settings; "
        "from django.core.management import execute_from_command_line; "
        f"override_settings(AUDIT_LOG_PATH={str(log_path)!r}).enable(); "
        "execute_from_command_line(['manage.py', 'audit', 'verify'])"
    )
    completed = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=environment,
                               capture_output=True, text=True, timeout=120)

    assert completed.returncode == 1
    assert "seq 4 is missing" in completed.stderr
