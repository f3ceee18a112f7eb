"""Rotation of API keys (grace period) and of one data-source secret."""

import io
import json
import stat
from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.apikeys.models import ApiKey
from accounts.apikeys.operations import create_api_key
from credentials import keyring, source_rotation
from credentials.actions import get_store

pytestmark = pytest.mark.django_db

OLD_VALUE = "sk_live_" + "OLDvalue1234567890abcd"
NEW_VALUE = "sk_live_" + "NEWvalue0987654321wxyz"


def _me(client, raw):
    return client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture
def state(tmp_path, settings):
    settings.STATE_DIR = tmp_path / ".dango"
    settings.PROJECT_ROOT = tmp_path
    return tmp_path


def test_api_key_works_through_grace_then_rejected(client, make_user, state, audit_log):
    """The old key works until the grace period ends; the successor works at once."""
    user = make_user("script@example.com", role="editor")
    created = create_api_key(user, "nightly load", scopes=["source.view"])
    out = io.StringIO()
    call_command("rotate_keys", "api-keys", "--key", created.key.prefix, "--grace-hours", "24", stdout=out)
    new_raw = out.getvalue().split(": ", 1)[1].split()[0]
    assert new_raw.startswith("dango_ak_")
    assert new_raw != created.raw

    assert _me(client, created.raw).status_code == 200
    assert _me(client, new_raw).status_code == 200
    successor = ApiKey.objects.get(name="nightly load", revoked_at__isnull=True, replaced_by__isnull=True)
    assert successor.scopes == ["source.view"]

    with time_machine.travel(timezone.now() + timedelta(hours=23), tick=False):
        assert _me(client, created.raw).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
        assert _me(client, created.raw).status_code == 401
        assert _me(client, new_raw).status_code == 200
        call_command("rotate_keys", "api-keys", "--revoke-retired", stdout=io.StringIO())
    old = ApiKey.objects.get(pk=created.key.pk)
    assert old.revoked_at is not None
    assert old.replaced_by_id == successor.pk

    events = audit_log.events()
    assert events.count("api_key_created") == 2
    assert events.count("api_key_revoked") == 1
    assert created.raw not in audit_log.path.read_text()
    assert new_raw not in audit_log.path.read_text()


def test_api_key_rotation_to_file(make_user, state, tmp_path):
    user = make_user("ops@example.com", role="admin")
    create_api_key(user, "monitor")
    create_api_key(user, "backup job")
    output = tmp_path / "new-keys.jsonl"
    out = io.StringIO()
    call_command("rotate_keys", "api-keys", "--user", "OPS@example.com", "--output", str(output), stdout=out)
    assert "dango_ak_" not in out.getvalue()
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert sorted(line["name"] for line in lines) == ["backup job", "monitor"]
    assert all(line["key"].startswith("dango_ak_") for line in lines)

    with pytest.raises(CommandError, match="already exists"):
        call_command("rotate_keys", "api-keys", "--all", "--output", str(output), stdout=io.StringIO())


def test_rotated_key_cannot_rotate_again(make_user, state):
    user = make_user("twice@example.com", role="editor")
    created = create_api_key(user, "etl")
    call_command("rotate_keys", "api-keys", "--key", str(created.key.pk), stdout=io.StringIO())
    with pytest.raises(CommandError, match="matches 0 active keys"):
        call_command("rotate_keys", "api-keys", "--key", str(created.key.pk), stdout=io.StringIO())


def test_api_key_dry_run_changes_nothing(make_user, state):
    user = make_user("dry@example.com", role="editor")
    created = create_api_key(user, "etl")
    out = io.StringIO()
    call_command("rotate_keys", "--dry-run", "api-keys", "--all", stdout=out)
    assert "Would rotate" in out.getvalue()
    assert ApiKey.objects.count() == 1
    assert ApiKey.objects.get().name == created.key.name


@pytest.fixture
def stripe_secret(state):
    get_store().set("sources.stripe.api_key", OLD_VALUE)
    return "sources.stripe.api_key"


def test_source_rotation_keeps_previous_until_confirmed(stripe_secret, state, audit_log, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW_VALUE + "\n"))
    call_command("rotate_keys", "source", stripe_secret, stdout=io.StringIO())
    assert get_store().get(stripe_secret) == NEW_VALUE
    backups = source_rotation.backups_path()
    assert stat.S_IMODE(backups.stat().st_mode) == 0o600
    assert OLD_VALUE.encode() not in backups.read_bytes()
    assert list(source_rotation.pending_rotations()) == [stripe_secret]

    call_command("rotate_keys", "source", stripe_secret, "--confirm", stdout=io.StringIO())
    assert not backups.exists()
    assert get_store().get(stripe_secret) == NEW_VALUE
    records = audit_log.records("secret_set")
    assert len(records) == 1
    assert OLD_VALUE not in audit_log.path.read_text()
    assert NEW_VALUE not in audit_log.path.read_text()


def test_source_rollback_restores_previous(stripe_secret, state, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW_VALUE))
    call_command("rotate_keys", "source", stripe_secret, stdout=io.StringIO())
    call_command("rotate_keys", "source", stripe_secret, "--rollback", stdout=io.StringIO())
    assert get_store().get(stripe_secret) == OLD_VALUE
    assert source_rotation.pending_rotations() == {}


def test_source_rotation_errors_change_nothing(stripe_secret, state, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(OLD_VALUE))
    with pytest.raises(CommandError, match="same as the current one"):
        call_command("rotate_keys", "source", stripe_secret, stdout=io.StringIO())
    monkeypatch.setattr("sys.stdin", io.StringIO("anything-new-12345"))
    with pytest.raises(CommandError, match="No value is stored at sources.stripe.missing"):
        call_command("rotate_keys", "source", "sources.stripe.missing", stdout=io.StringIO())
    with pytest.raises(CommandError, match="No rotation of sources.stripe.api_key is waiting"):
        call_command("rotate_keys", "source", stripe_secret, "--confirm", stdout=io.StringIO())
    assert get_store().get(stripe_secret) == OLD_VALUE
    assert not source_rotation.backups_path().exists()


def test_encryption_rotation_reencrypts_credential_backups(stripe_secret, state, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW_VALUE))
    call_command("rotate_keys", "source", stripe_secret, stdout=io.StringIO())
    old_keys = keyring.load_keys()
    call_command("rotate_keys", "encryption", stdout=io.StringIO())
    token = source_rotation.backups_path().read_bytes().strip()
    with pytest.raises(keyring.DecryptionError):
        keyring.decrypt(token, old_keys)
    call_command("rotate_keys", "source", stripe_secret, "--rollback", stdout=io.StringIO())
    assert get_store().get(stripe_secret) == OLD_VALUE
