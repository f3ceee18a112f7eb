import io
import os
import stat

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.test import override_settings

from credentials import backup, keyring
from credentials.secret_key import finish_secret_key_rotation, rotate_secret_key
from dango_site.env import read_secret_key_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def state_dir(tmp_path, settings):
    state = tmp_path / ".dango"
    state.mkdir(mode=0o700)
    settings.STATE_DIR = state
    settings.PROJECT_ROOT = tmp_path
    (state / "secret_key").write_text(settings.SECRET_KEY + "\n")
    os.chmod(state / "secret_key", 0o600)
    return state


def _apply_key_file(settings, state):
    keys = read_secret_key_file(state / "secret_key")
    settings.SECRET_KEY = keys[0]
    settings.SECRET_KEY_FALLBACKS = keys[1:]


def test_secret_key_rotation_keeps_sessions_until_finish(client, make_user, state_dir, settings):
    """A session and a reset token made before rotation work after it and stop after --finish."""
    from django.test import Client

    user = make_user()
    client.force_login(user)
    idle_client = Client()
    idle_client.force_login(user)
    token = default_token_generator.make_token(user)

    call_command("rotate_keys", "secret-key", stdout=io.StringIO())
    _apply_key_file(settings, state_dir)
    assert len(settings.SECRET_KEY_FALLBACKS) == 1
    assert client.get("/").status_code == 200
    assert default_token_generator.check_token(user, token)

    call_command("rotate_keys", "secret-key", "--finish", stdout=io.StringIO())
    _apply_key_file(settings, state_dir)
    assert settings.SECRET_KEY_FALLBACKS == []
    assert idle_client.get("/").status_code == 302
    assert not default_token_generator.check_token(user, token)
    # Django re-signs a session verified by a fallback key, so the session
    # used during the grace period carries over to the new key.
    assert client.get("/").status_code == 200


def test_secret_key_file_stays_private(state_dir):
    rotate_secret_key(state_dir / "secret_key")
    assert stat.S_IMODE((state_dir / "secret_key").stat().st_mode) == 0o600
    assert finish_secret_key_rotation(state_dir / "secret_key") == 1


def test_secret_key_dry_run_changes_nothing(state_dir):
    before = (state_dir / "secret_key").read_bytes()
    out = io.StringIO()
    call_command("rotate_keys", "--dry-run", "secret-key", stdout=out)
    assert "Would add a new SECRET_KEY" in out.getvalue()
    assert (state_dir / "secret_key").read_bytes() == before


def test_secret_key_rotation_event(state_dir, audit_log):
    call_command("rotate_keys", "secret-key", stdout=io.StringIO())
    records = audit_log.records("secret_key_rotated")
    assert len(records) == 1
    assert records[0]["details"] == {"phase": "rotated", "fallbacks": 1}
    assert read_secret_key_file(state_dir / "secret_key")[1] not in audit_log.path.read_text()


@pytest.mark.django_db(transaction=True)
def test_encryption_rotation_reencrypts_backups(state_dir, make_user, audit_log):
    """After rotation every stored archive opens with the new key and not with the old one alone."""
    make_user()
    old_keys = keyring.load_keys()
    first = backup.create_backup()
    second = backup.create_backup(state_dir / "backups" / "second.dango-backup")

    call_command("rotate_keys", "encryption", stdout=io.StringIO())

    new_keys = keyring.load_keys()
    assert len(new_keys) == 1
    assert new_keys[0] not in old_keys
    for archive in (first, second):
        manifest, _ = backup.read_archive(archive, new_keys)
        assert manifest["format"] == backup.FORMAT_VERSION
        with pytest.raises(backup.BackupError):
            backup.read_archive(archive, old_keys)
    records = audit_log.records("encryption_key_rotated")
    assert len(records) == 1
    assert records[0]["details"]["counts"] == {"backup archives": 2}


@pytest.mark.django_db(transaction=True)
def test_encryption_rotation_keeps_old_key_on_damage(state_dir):
    old_keys = keyring.load_keys()
    archive = backup.create_backup()
    archive.write_bytes(archive.read_bytes()[:-20])
    with pytest.raises(CommandError, match="old keys were kept"):
        call_command("rotate_keys", "encryption", stdout=io.StringIO())
    keys = keyring.load_keys()
    assert len(keys) == 2
    assert keys[1] == old_keys[0]


def test_malformed_encryption_key_file_is_rejected(state_dir):
    (state_dir / "encryption_keys").write_text("not-a-key\n")
    with pytest.raises(ImproperlyConfigured, match="Line 1 of .*encryption_keys is not a valid Fernet key"):
        keyring.load_keys()


def test_encryption_key_file_created_private(state_dir):
    keys = keyring.load_keys()
    assert len(keys) == 1
    Fernet(keys[0])
    assert stat.S_IMODE((state_dir / "encryption_keys").stat().st_mode) == 0o600
