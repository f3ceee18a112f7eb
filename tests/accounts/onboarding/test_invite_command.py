"""`manage.py users invite | resend-invite | revoke-invite | list-invites`."""

import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.invites.models import Invite, hash_token
from accounts.models import User

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://\S+/invite/([A-Za-z0-9_-]+)/")


def run(*args) -> str:
    out = io.StringIO()
    call_command("users", *args, stdout=out)
    return out.getvalue()


def test_invite_prints_link_once(client, audit_log):
    """The command invites the address and prints its link exactly once."""
    output = run("invite", "Bob@Example.com", "--role", "editor")

    tokens = LINK.findall(output)
    assert len(tokens) == 1
    assert output.count(tokens[0]) == 1
    invite = Invite.objects.get(email="bob@example.com")
    assert invite.role == "editor"
    assert invite.invited_by is None
    assert invite.token_hash == hash_token(tokens[0])
    assert "Invited bob@example.com with the role Editor." in output
    assert client.get(f"/invite/{tokens[0]}/").status_code == 302
    record = audit_log.records("user_invited")[0]
    assert record["actor"] is None
    assert record["details"]["role"] == "editor"


def test_invite_link_uses_site_url(settings):
    """Links printed on the command line start with DANGO_SITE_URL."""
    settings.DANGO_SITE_URL = "https://dango.example.com"

    output = run("invite", "bob@example.com", "--role", "viewer")

    assert "https://dango.example.com/invite/" in output


@pytest.mark.parametrize(
    "args,message",
    [
        (["invite", "bob@example.com", "--role", "owner"], "Unknown role 'owner'"),
        (["invite", "not-an-email", "--role", "viewer"], "is not a valid email address"),
        (["resend-invite", "nobody@example.com"], "No pending invitation exists for 'nobody@example.com'"),
        (["revoke-invite", "nobody@example.com"], "No pending invitation exists for 'nobody@example.com'"),
    ],
)
def test_bad_input_fails(args, message):
    """Bad input ends the command with an error and changes nothing."""
    with pytest.raises(CommandError, match=re.escape(message)):
        run(*args)
    assert Invite.objects.count() == 0


def test_invite_existing_user_fails(make_user):
    """An address that already has an account is refused."""
    make_user("bob@example.com")

    with pytest.raises(CommandError, match="already has a Dango account"):
        run("invite", "bob@example.com", "--role", "viewer")


def test_invite_pending_address_fails():
    """A second invitation for a pending address is refused."""
    run("invite", "bob@example.com", "--role", "viewer")

    with pytest.raises(CommandError, match="already pending"):
        run("invite", "bob@example.com", "--role", "admin")
    assert Invite.objects.count() == 1


def test_resend_invite(client):
    """resend-invite prints a new link; the old one stops working."""
    old = LINK.findall(run("invite", "bob@example.com", "--role", "viewer"))[0]

    new = LINK.findall(run("resend-invite", "BOB@example.com"))[0]

    assert new != old
    assert client.get(f"/invite/{old}/").status_code == 404
    assert client.get(f"/invite/{new}/").status_code == 302


def test_revoke_invite(client, audit_log):
    """revoke-invite makes the link unusable and records the revocation."""
    token = LINK.findall(run("invite", "bob@example.com", "--role", "viewer"))[0]

    output = run("revoke-invite", "bob@example.com")

    assert "Revoked the invitation for bob@example.com" in output
    assert client.get(f"/invite/{token}/").status_code == 410
    assert len(audit_log.records("invite_revoked")) == 1
    with pytest.raises(CommandError, match="No pending invitation"):
        run("revoke-invite", "bob@example.com")


def test_list_invites_shows_expired_status():
    """list-invites shows each invitation's status as of now."""
    run("invite", "bob@example.com", "--role", "viewer")
    run("invite", "carol@example.com", "--role", "editor")
    run("revoke-invite", "carol@example.com")

    with time_machine.travel(timezone.now() + timedelta(hours=73)):
        output = run("list-invites")

    lines = {line.split()[0]: line.split() for line in output.splitlines()[1:]}
    assert lines["bob@example.com"][1:3] == ["viewer", "expired"]
    assert lines["carol@example.com"][1:3] == ["editor", "revoked"]
    assert not User.objects.filter(email__in=["bob@example.com", "carol@example.com"]).exists()
