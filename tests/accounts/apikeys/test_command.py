import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.apikeys.keys import hash_key
from accounts.apikeys.models import ApiKey

pytestmark = pytest.mark.django_db

KEY = re.compile(r"^dango_ak_[A-Za-z0-9_-]{43}$", re.M)


def run(*args) -> str:
    out = StringIO()
    call_command("apikeys", *args, stdout=out)
    return out.getvalue()


def test_create_prints_key_once(viewer, audit_log):
    output = run("create", viewer.email, "--name", "deploy", "--scopes", "health.view, source.view",
                 "--expires-in-days", "10")
    keys = KEY.findall(output)
    assert len(keys) == 1
    stored = ApiKey.objects.get(user=viewer)
    assert stored.key_hash == hash_key(keys[0])
    assert stored.scopes == ["health.view", "source.view"]
    assert (stored.expires_at - stored.created_at).days == 10
    records = audit_log.records("api_key_created")
    assert len(records) == 1
    assert records[0]["actor"] is None
    assert keys[0] not in audit_log.path.read_text()


def test_create_rejects_scope_outside_role(viewer):
    with pytest.raises(CommandError, match="The role of viewer@example.com does not grant users.manage"):
        run("create", viewer.email, "--name", "deploy", "--scopes", "users.manage")
    assert not ApiKey.objects.exists()


def test_create_unknown_user(db):
    with pytest.raises(CommandError, match="No user has the email address 'nobody@example.com'"):
        run("create", "Nobody@Example.com", "--name", "deploy")


def test_create_over_maximum_lifetime(viewer):
    with pytest.raises(CommandError, match="exceeds this server's maximum of 365 days"):
        run("create", viewer.email, "--name", "deploy", "--expires-in-days", "400")


def test_list_shows_keys_without_secrets(viewer, editor, make_key):
    first = make_key(viewer, name="viewer key")
    make_key(editor, name="editor key", scopes=["health.view"])
    output = run("list")
    assert first.key.prefix in output
    assert "editor key" in output
    assert "health.view" in output
    assert first.raw not in output
    assert first.key.key_hash not in output
    only_viewer = run("list", "--user", viewer.email)
    assert "editor key" not in only_viewer


def test_list_by_status(viewer, make_key):
    make_key(viewer, name="kept")
    gone = make_key(viewer, name="gone")
    run("revoke", str(gone.key.pk))
    revoked = run("list", "--status", "revoked")
    assert "gone" in revoked
    assert "kept" not in revoked
    with pytest.raises(CommandError, match="Unknown status 'old'"):
        run("list", "--status", "old")


def test_revoke_by_id_and_prefix(viewer, make_key, audit_log):
    first = make_key(viewer, name="one")
    second = make_key(viewer, name="two")
    output = run("revoke", str(first.key.pk), second.key.prefix + "…")
    assert "Revoked API key" in output
    assert ApiKey.objects.filter(revoked_at__isnull=False).count() == 2
    assert ApiKey.objects.get(pk=first.key.pk).revoked_by is None
    assert len(audit_log.records("api_key_revoked")) == 2


def test_revoke_already_revoked_changes_nothing(viewer, make_key):
    first = make_key(viewer, name="one")
    second = make_key(viewer, name="two")
    run("revoke", str(first.key.pk))
    with pytest.raises(CommandError, match="Already revoked"):
        run("revoke", str(second.key.pk), str(first.key.pk))
    assert ApiKey.objects.get(pk=second.key.pk).revoked_at is None


@pytest.mark.parametrize("identifier,message", [
    ("999", "No API key has the id 999"),
    ("dango_ak_zzzzzzzz", "No API key has the prefix"),
    ("hello", "neither a key id nor a key prefix"),
])
def test_revoke_unknown_key(db, identifier, message):
    with pytest.raises(CommandError, match=message):
        run("revoke", identifier)


def test_command_exits_non_zero(viewer, capsys):
    from django.core.management import ManagementUtility

    utility = ManagementUtility(["manage.py", "apikeys", "revoke", "999"])
    with pytest.raises(SystemExit) as exit_info:
        utility.execute()
    assert exit_info.value.code == 1
    assert "No API key has the id 999" in capsys.readouterr().err
