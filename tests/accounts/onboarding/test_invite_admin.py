"""Invitations in the Django admin: the add form and the resend and revoke actions."""

import re

import pytest
from django.test import Client

from accounts.invites.models import Invite
from accounts.invites.service import create_invite

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/accounts/invite/"


def shown_links(response) -> list[str]:
    return re.findall(r'<code class="invite-link">([^<]+)</code>', response.content.decode())


def test_add_form_creates_invite_and_shows_link(admin_client, admin_user, audit_log):
    """The add form invites the address and shows its link on the response page."""
    response = admin_client.post(f"{CHANGELIST}add/", {"email": "Bob@Example.com", "role": "editor"})

    assert response.status_code == 200
    invite = Invite.objects.get()
    assert (invite.email, invite.role, invite.invited_by_id) == ("bob@example.com", "editor", admin_user.pk)
    links = shown_links(response)
    assert len(links) == 1
    assert links[0].startswith("http://testserver/invite/")
    assert Client().get(links[0].removeprefix("http://testserver")).status_code == 302
    assert audit_log.records("user_invited")[0]["actor"]["id"] == admin_user.pk


def test_add_form_shows_service_errors(admin_client, make_user):
    """An address that already has an account is a form error and creates nothing."""
    make_user("bob@example.com")

    response = admin_client.post(f"{CHANGELIST}add/", {"email": "bob@example.com", "role": "viewer"})

    assert response.status_code == 200
    assert "already has a Dango account" in response.content.decode()
    assert Invite.objects.count() == 0


def test_add_form_rejects_invalid_email(admin_client):
    """A malformed address is a form error."""
    response = admin_client.post(f"{CHANGELIST}add/", {"email": "not-an-email", "role": "viewer"})

    assert response.status_code == 200
    assert "Enter a valid email address" in response.content.decode()
    assert Invite.objects.count() == 0


def test_resend_action_shows_new_links(admin_client, audit_log):
    """Resending selected invitations shows one new link each; the old links stop working."""
    first = create_invite("bob@example.com", "viewer")
    second = create_invite("carol@example.com", "editor")

    response = admin_client.post(
        CHANGELIST, {"action": "resend_invites", "_selected_action": [first.invite.pk, second.invite.pk]}
    )

    assert response.status_code == 200
    links = shown_links(response)
    assert len(links) == 2
    assert first.url not in links
    assert Client().get(first.url.removeprefix("http://testserver")).status_code == 404
    assert [record["details"]["resent"] for record in audit_log.records("user_invited")] == [False, False, True, True]


def test_revoke_action(admin_client, admin_user, audit_log):
    """Revoking selected invitations closes them and records who did it."""
    issued = create_invite("bob@example.com", "viewer")

    response = admin_client.post(CHANGELIST, {"action": "revoke_invites", "_selected_action": [issued.invite.pk]})

    assert response.status_code == 302
    assert Invite.objects.get().status == Invite.Status.REVOKED
    assert audit_log.records("invite_revoked")[0]["actor"]["id"] == admin_user.pk


def test_revoke_action_reports_closed_invites(admin_client):
    """Revoking an already revoked invitation shows an error message instead of failing."""
    issued = create_invite("bob@example.com", "viewer")
    admin_client.post(CHANGELIST, {"action": "revoke_invites", "_selected_action": [issued.invite.pk]})

    response = admin_client.post(
        CHANGELIST, {"action": "revoke_invites", "_selected_action": [issued.invite.pk]}, follow=True
    )

    assert "so there is nothing to revoke" in response.content.decode()


def test_invite_page_is_read_only(admin_client):
    """An invitation's admin page shows the invitation but offers nothing to edit or delete."""
    issued = create_invite("bob@example.com", "viewer")

    page = admin_client.get(f"{CHANGELIST}{issued.invite.pk}/change/")

    assert page.status_code == 200
    assert 'name="email"' not in page.content.decode()
    assert issued.invite.token_hash not in page.content.decode()
    assert admin_client.get(f"{CHANGELIST}{issued.invite.pk}/delete/").status_code == 403


def test_editor_cannot_open_invites(client, make_user):
    """Only Admins reach the invitation admin."""
    client.force_login(make_user("editor@example.com", role="editor"))

    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
