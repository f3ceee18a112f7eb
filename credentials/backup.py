"""Encrypted backups of a project folder, and their restore.

An archive is a gzip'd tar encrypted with the project's encryption key list
(Fernet: AES-128-CBC with an HMAC-SHA256, so any change or truncation is
detected before anything is restored). Inside:

    manifest.json              format version, creation time, SHA-256 of every file
    database/dango.sqlite3     SQLite: a copy made with SQLite's online backup API
    database/data.json         other databases: dumpdata in one repeatable-read transaction
    dango/secret_key           Django SECRET_KEY and its fallbacks
    dango/encryption_keys      the key list itself, so a restored site can rotate later
    dlt/…                      everything under .dlt (secrets.toml, config.toml)
    audit/audit.jsonl[.N]      the audit log and its rotated files

NOTE: Fernet works on whole messages in memory, so an archive needs about
three times its size in RAM to create or restore; that suits the SQLite
deployments of a small team, not a multi-gigabyte database.
"""

import base64
import binascii
import fcntl
import hashlib
import io
import json
import logging
import os
import sqlite3
import tarfile
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction

from audit import app_settings as audit_settings
from audit.files import all_log_files, lock_path_for
from credentials import keyring
from rbac.assignment import restoring_role_groups

logger = logging.getLogger("credentials")

FORMAT_VERSION = 1
ARCHIVE_SUFFIX = ".dango-backup"
JSON_DUMP_EXCLUDES = ["contenttypes", "auth.permission", "sessions.session", "axes.accesslog"]


def dump_excludes() -> list[str]:
    """Return JSON_DUMP_EXCLUDES plus every unmanaged model.

    dumpdata queries unmanaged models too. The admin entry models of the
    audit log and the stored secrets are unmanaged and have no table, so
    dumping them fails, and migrate would not create them on restore.
    """
    unmanaged = [model._meta.label for model in apps.get_models() if not model._meta.managed]
    return [*JSON_DUMP_EXCLUDES, *unmanaged]


class BackupError(Exception):
    """A backup or restore could not be done; the message says why and what to do."""


@dataclass
class RestoreResult:
    target: Path
    files: int
    database: str


def backups_folder() -> Path:
    return Path(settings.STATE_DIR) / "backups"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextmanager
def _audit_log_locked():
    """Hold the audit writers' lock so the copied log ends on a whole record."""
    lock_path = lock_path_for(audit_settings.log_path())
    lock_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _snapshot_database() -> tuple[str, bytes]:
    if connection.vendor == "sqlite":
        if connection.in_atomic_block:
            # SQLite's backup API waits for this connection's own write
            # transaction to end, which it never would.
            raise BackupError("A SQLite backup cannot run inside a database transaction; run it on its own.")
        connection.ensure_connection()
        with tempfile.TemporaryDirectory() as folder:
            copy_path = Path(folder) / "copy.sqlite3"
            destination = sqlite3.connect(copy_path)
            try:
                # The online backup API copies a consistent snapshot even
                # while other connections write.
                connection.connection.backup(destination)
            finally:
                destination.close()
            return "database/dango.sqlite3", copy_path.read_bytes()

    output = io.StringIO()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        call_command(
            "dumpdata",
            natural_foreign=True,
            natural_primary=True,
            exclude=dump_excludes(),
            stdout=output,
            verbosity=0,
        )
    return "database/data.json", output.getvalue().encode("utf-8")


def _project_files() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    state = Path(settings.STATE_DIR)
    for name in ("secret_key", keyring.KEY_FILE_NAME):
        path = state / name
        if path.exists():
            files[f"dango/{name}"] = path.read_bytes()

    dlt = Path(settings.PROJECT_ROOT) / ".dlt"
    if dlt.is_dir():
        for path in sorted(dlt.rglob("*")):
            if path.is_file() and not path.is_symlink():
                files["dlt/" + path.relative_to(dlt).as_posix()] = path.read_bytes()

    with _audit_log_locked():
        for path in all_log_files(audit_settings.log_path()):
            files["audit/" + path.name] = path.read_bytes()
    return files


def create_backup(output: Path | None = None) -> Path:
    """Write an encrypted archive of the project and return its path."""
    keyring.load_keys()
    created = datetime.now(timezone.utc)
    files = _project_files()
    database_name, database_bytes = _snapshot_database()
    files[database_name] = database_bytes
    manifest = {
        "format": FORMAT_VERSION,
        "created_at": created.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "database": "sqlite" if database_name.endswith(".sqlite3") else "json",
        "audit_log_name": audit_settings.log_path().name,
        "files": {name: _sha256(data) for name, data in sorted(files.items())},
    }

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in [("manifest.json", json.dumps(manifest, indent=2).encode()), *sorted(files.items())]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o600
            info.mtime = int(created.timestamp())
            archive.addfile(info, io.BytesIO(data))
    token = keyring.encrypt(buffer.getvalue())

    if output is None:
        output = backups_folder() / f"dango-{created:%Y%m%dT%H%M%SZ}{ARCHIVE_SUFFIX}"
    output = Path(output)
    if output.exists():
        raise BackupError(f"{output} already exists. Choose another file name or move the old archive away.")
    output.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(token)
        handle.flush()
        os.fsync(handle.fileno())
    logger.info("Wrote backup %s with %d file(s)", output, len(files))
    return output


def read_archive(path: Path, keys: list[bytes]) -> tuple[dict, dict[str, bytes]]:
    """Decrypt and check an archive; return its manifest and files, or raise BackupError."""
    try:
        token = Path(path).read_bytes()
    except FileNotFoundError:
        raise BackupError(f"The archive {path} does not exist.") from None
    token = token.strip()
    try:
        canonical = base64.urlsafe_b64encode(base64.urlsafe_b64decode(token)) == token
    except (binascii.Error, ValueError):
        canonical = False
    try:
        if not canonical:
            # Lenient base64 decoding ignores bytes after the padding, so
            # appended data would otherwise pass unnoticed.
            raise keyring.DecryptionError("the archive is not one canonical Fernet token")
        plain = keyring.decrypt(token, keys)
    except keyring.DecryptionError:
        raise BackupError(
            f"{path} could not be decrypted: it is damaged, truncated or changed, or it was made with "
            "another encryption key. Nothing was restored. Check that --key-file points at the key list "
            "of the deployment that made the archive."
        ) from None

    try:
        with tarfile.open(fileobj=io.BytesIO(plain), mode="r:gz") as archive:
            members = {}
            for member in archive.getmembers():
                if not member.isfile() or member.name.startswith("/") or ".." in Path(member.name).parts:
                    raise BackupError(f"{path} contains an unexpected entry {member.name!r}; nothing was restored.")
                members[member.name] = archive.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BackupError(f"{path} decrypted but is not a valid archive ({error}); nothing was restored.") from None

    try:
        manifest = json.loads(members.pop("manifest.json"))
    except (KeyError, ValueError):
        raise BackupError(f"{path} has no readable manifest; nothing was restored.") from None
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(f"{path} has archive format {manifest.get('format')!r}; this version reads {FORMAT_VERSION}.")
    expected = manifest.get("files", {})
    if set(expected) != set(members):
        raise BackupError(f"{path} does not match its manifest (files added or missing); nothing was restored.")
    for name, data in members.items():
        if _sha256(data) != expected[name]:
            raise BackupError(f"{path}: {name} does not match its checksum; nothing was restored.")
    return manifest, members


def _is_empty_folder(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


def restore_backup(path: Path, target: Path, keys: list[bytes], force: bool = False) -> RestoreResult:
    """Restore an archive into the project folder ``target``.

    Everything is checked before the first file is written. A JSON database
    dump is loaded into the database this process is configured for, which
    must be migrated and hold no users yet.
    """
    target = Path(target).resolve()
    manifest, members = read_archive(path, keys)
    if not _is_empty_folder(target) and not force:
        raise BackupError(f"{target} is not empty. Restore into an empty folder, or add --force to overwrite.")
    if "database/data.json" in members:
        _check_database_is_empty()

    audit_name = manifest.get("audit_log_name", "audit.jsonl")
    placements = {}
    for name in members:
        area, _, rest = name.partition("/")
        if area == "dango":
            placements[name] = target / ".dango" / rest
        elif area == "dlt":
            placements[name] = target / ".dlt" / rest
        elif area == "audit":
            placements[name] = target / ".dango" / "logs" / rest.replace(audit_name, "audit.jsonl", 1)
        elif name == "database/dango.sqlite3":
            placements[name] = target / ".dango" / "dango.sqlite3"
        elif name == "database/data.json":
            continue
        else:
            raise BackupError(f"{path} contains an unknown entry {name!r}; nothing was restored.")

    for name, destination in placements.items():
        destination.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = destination.with_name(destination.name + ".restore-tmp")
        if temporary.exists():
            temporary.unlink()
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(members[name])
        os.replace(temporary, destination)

    if "database/data.json" in members:
        _load_json_dump(members["database/data.json"])
    logger.info("Restored %s into %s", path, target)
    return RestoreResult(target=target, files=len(placements), database=manifest["database"])


def _check_database_is_empty() -> None:
    from django.contrib.auth import get_user_model

    if get_user_model().objects.exists():
        raise BackupError(
            "The configured database already has users. Restore a JSON database dump only into an empty, "
            "migrated database (DATABASE_URL). Nothing was restored."
        )


def _load_json_dump(data: bytes) -> None:
    with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as handle:
        handle.write(data)
        dump_path = handle.name
    try:
        with transaction.atomic(), restoring_role_groups():
            call_command("loaddata", dump_path, verbosity=0)
    finally:
        os.unlink(dump_path)


def re_encrypt_stored_backups(re_encrypt) -> int:
    count = 0
    folder = backups_folder()
    if not folder.is_dir():
        return 0
    for path in sorted(folder.glob("*" + ARCHIVE_SUFFIX)):
        token = re_encrypt(path.read_bytes().strip())
        temporary = path.with_name(path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(token)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        count += 1
    return count


keyring.register_re_encryptor("backup archives", re_encrypt_stored_backups)

