import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from credentials import backup, keyring

pytestmark = pytest.mark.django_db(transaction=True)

REPO_ROOT = Path(__file__).resolve().parents[2]
CANARY = "canary-Stripe-key-7f3a9c2e81d4"


@pytest.fixture
def project(tmp_path, settings, audit_log, make_user):
    """A project folder with users, secrets and an audit log."""
    root = tmp_path / "source"
    state = root / ".dango"
    state.mkdir(parents=True, mode=0o700)
    (state / "secret_key").write_text(settings.SECRET_KEY + "\n")
    os.chmod(state / "secret_key", 0o600)
    (root / ".dlt").mkdir(mode=0o700)
    (root / ".dlt" / "secrets.toml").write_text(f'[sources.stripe]\napi_key = "{CANARY}"\n')
    settings.STATE_DIR = state
    settings.PROJECT_ROOT = root
    make_user("admin@example.com", role="admin")
    make_user("editor@example.com", role="editor")
    return root


def skip_unless_sqlite() -> None:
    # These restores place a copy of the SQLite file; a JSON dump of another
    # database restores only into an empty database (see the tests below).
    if connection.vendor != "sqlite":
        pytest.skip("checks the restore of a SQLite database file")


def _run_manage(project_root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DANGO_PROJECT_ROOT": str(project_root), "DJANGO_SETTINGS_MODULE": "dango_site.settings"}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), *args], env=env, capture_output=True, text=True, cwd=REPO_ROOT
    )


def test_backup_restore_gives_working_site(project, tmp_path, audit_log):
    """A restored folder has the same users, roles, secrets and an intact audit chain."""
    skip_unless_sqlite()
    archive = backup.create_backup()
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert CANARY.encode() not in archive.read_bytes()

    target = tmp_path / "restored"
    key_file = tmp_path / "keys-offsite"
    key_file.write_bytes(keyring.key_file_path().read_bytes())
    out = io.StringIO()
    call_command("restore", str(archive), "--target", str(target), "--key-file", str(key_file), stdout=out)
    assert "Restored" in out.getvalue()

    assert (target / ".dlt" / "secrets.toml").read_text() == (project / ".dlt" / "secrets.toml").read_text()
    assert stat.S_IMODE((target / ".dlt" / "secrets.toml").stat().st_mode) == 0o600
    assert (target / ".dango" / "secret_key").read_text() == (project / ".dango" / "secret_key").read_text()
    restored_log = target / ".dango" / "logs" / "audit.jsonl"
    assert restored_log.read_bytes() == audit_log.path.read_bytes()

    listing = _run_manage(target, "users", "list")
    assert listing.returncode == 0, listing.stderr
    assert "admin@example.com" in listing.stdout
    assert "editor@example.com" in listing.stdout
    editor_line = next(line for line in listing.stdout.splitlines() if line.startswith("editor@example.com"))
    assert " editor " in editor_line

    roles = _run_manage(target, "roles")
    assert roles.returncode == 0, roles.stderr

    records = [json.loads(line) for line in restored_log.read_text().splitlines()]
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    from audit.chain import GENESIS_HASH, compute_hash

    previous = GENESIS_HASH
    for record in records:
        assert record["prev_hash"] == previous
        assert compute_hash(record) == record["hash"]
        previous = record["hash"]


@pytest.mark.parametrize("damage", ["truncate", "flip", "append"])
def test_damaged_archive_restores_nothing(project, tmp_path, damage):
    archive = backup.create_backup()
    data = archive.read_bytes()
    if damage == "truncate":
        archive.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        middle = len(data) // 2
        archive.write_bytes(data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1:])
    else:
        archive.write_bytes(data + b"AAAA")
    target = tmp_path / "restored"
    with pytest.raises(CommandError, match="could not be decrypted"):
        call_command("restore", str(archive), "--target", str(target), stdout=io.StringIO())
    assert not target.exists()


def test_wrong_key_restores_nothing(project, tmp_path):
    archive = backup.create_backup()
    other_keys = tmp_path / "other-keys"
    other_keys.write_text(Fernet.generate_key().decode() + "\n")
    target = tmp_path / "restored"
    with pytest.raises(CommandError, match="another encryption key"):
        call_command("restore", str(archive), "--target", str(target), "--key-file", str(other_keys), stdout=io.StringIO())
    assert not target.exists()


def test_restore_refuses_non_empty_folder(project, tmp_path):
    skip_unless_sqlite()
    archive = backup.create_backup()
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(CommandError, match="is not empty"):
        call_command("restore", str(archive), "--target", str(target), stdout=io.StringIO())
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]

    from django.db import connection

    if connection.vendor != "sqlite":
        # A JSON dump loads into the configured database, which has users here.
        with pytest.raises(CommandError, match="already has users"):
            call_command("restore", str(archive), "--target", str(target), "--force", stdout=io.StringIO())
        return
    call_command("restore", str(archive), "--target", str(target), "--force", stdout=io.StringIO())
    assert (target / ".dango" / "dango.sqlite3").exists()
    assert (target / "keep.txt").read_text() == "mine"


def test_restore_check_only(project, tmp_path):
    archive = backup.create_backup()
    out = io.StringIO()
    call_command("restore", str(archive), "--target", str(tmp_path / "unused"), "--check", stdout=out)
    assert "is intact" in out.getvalue()
    assert not (tmp_path / "unused").exists()


def test_backup_refuses_existing_output(project, tmp_path):
    output = tmp_path / "exists.dango-backup"
    output.write_text("old")
    with pytest.raises(CommandError, match="already exists"):
        call_command("backup", "--output", str(output), stdout=io.StringIO())
    assert output.read_text() == "old"


def test_malformed_secret_key_stops_startup(tmp_path):
    state = tmp_path / ".dango"
    state.mkdir()
    (state / "secret_key").write_text("short\n")
    result = _run_manage(tmp_path, "check")
    assert result.returncode != 0
    assert "secret key on line 1" in result.stderr
    assert str(state / "secret_key") in result.stderr


@pytest.mark.postgres
def test_backup_restore_into_empty_postgres(project, tmp_path):
    """A JSON dump restores into a fresh, migrated PostgreSQL database with the same users and roles."""
    import uuid

    from django.db import connection

    archive = backup.create_backup()
    key_file = tmp_path / "keys-offsite"
    key_file.write_bytes(keyring.key_file_path().read_bytes())

    name = f"dango_restore_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    settings_dict = connection.settings_dict
    url = f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT'] or 5432}/{name}"
    target = tmp_path / "restored"
    env = {**os.environ, "DANGO_PROJECT_ROOT": str(target), "DJANGO_SETTINGS_MODULE": "dango_site.settings",
           "DATABASE_URL": url}
    env.pop("REDIS_URL", None)
    manage = [sys.executable, str(REPO_ROOT / "manage.py")]
    try:
        # Settings create .dango/secret_key in the target, so restore with --force.
        for command in (["migrate", "-v0"],
                        ["restore", str(archive), "--target", str(target), "--key-file", str(key_file), "--force"]):
            result = subprocess.run(manage + command, env=env, capture_output=True, text=True, cwd=REPO_ROOT)
            assert result.returncode == 0, result.stderr
        listing = subprocess.run(manage + ["users", "list"], env=env, capture_output=True, text=True, cwd=REPO_ROOT)
        assert listing.returncode == 0, listing.stderr
        editor_line = next(line for line in listing.stdout.splitlines() if line.startswith("editor@example.com"))
        assert " editor " in editor_line
        assert "admin@example.com" in listing.stdout
        assert (target / ".dlt" / "secrets.toml").read_text() == (project / ".dlt" / "secrets.toml").read_text()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_json_dump_leaves_out_tableless_models(project):
    """On PostgreSQL the archive contains a JSON dump with the users and without the table-less admin entries."""
    archive = backup.create_backup()
    manifest, members = backup.read_archive(archive, keyring.load_keys(create=False))
    assert manifest["database"] == "json"
    rows = json.loads(members["database/data.json"])
    models = {row["model"] for row in rows}
    emails = {row["fields"].get("email") for row in rows if row["model"] == "accounts.user"}
    assert emails == {"admin@example.com", "editor@example.com"}
    assert "audit.auditrecord" not in models
    assert "credentials.storedsecret" not in models
    assert CANARY.encode() not in members["database/data.json"]


@pytest.mark.postgres
def test_json_restore_into_used_database_changes_nothing(project, tmp_path):
    """A JSON dump is not restored into a database that has users, and no file is written."""
    archive = backup.create_backup()
    target = tmp_path / "restored"
    with pytest.raises(CommandError, match="already has users"):
        call_command("restore", str(archive), "--target", str(target), stdout=io.StringIO())
    assert not target.exists()
