"""Invitations: the service, the invite link and the acceptance page."""

import html
import re
from datetime import timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone

from accounts.invites.models import Invite, hash_token
from accounts.invites.service import InviteError, create_invite, resend_invite, revoke_invite
from accounts.invites.views import INVITE_RATE_LIMIT
from accounts.models import User
from rbac.assignment import get_role
from rbac.roles import Role
from tests.accounts.onboarding.fake_provider import Identity

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "Lantern-Orbit-Violet-7"


def link_path(url: str) -> str:
    return url.removeprefix("http://testserver")


def open_link(client, url: str, **query):
    return client.get(link_path(url), query)


def accept(client, url: str, password: str = GOOD_PASSWORD, password2: str | None = None, **fields):
    """Open the invite link, load the form and submit it as a browser would; return the response."""
    opened = open_link(client, url, **({"next": fields.pop("next")} if "next" in fields else {}))
    assert opened.status_code == 302, opened.content
    page = client.get(opened["Location"])
    assert page.status_code == 200, page.content
    data = {"password1": password, "password2": password if password2 is None else password2, **fields}
    if hidden_next := re.search(r'name="next" value="([^"]*)"', page.content.decode()):
        data["next"] = html.unescape(hidden_next.group(1))
    return client.post("/invite/accept/", data)


def signed_in_user_id(client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


@pytest.fixture
def issued(admin_user, rf):
    request = rf.get("/admin/")
    request.user = admin_user
    return create_invite("Bob@Example.com", "editor", actor=admin_user, request=request)


def test_invite_link_and_stored_hash(issued):
    """The link carries a random token; only its SHA-256 digest is stored."""
    invite = issued.invite
    assert issued.url == f"http://testserver/invite/{issued.token}/"
    assert len(issued.token) >= 43
    assert invite.token_hash == hash_token(issued.token)
    assert issued.token not in str([getattr(invite, field.attname) for field in Invite._meta.fields])
    assert invite.email == "bob@example.com"
    assert invite.role == "editor"
    assert invite.status == Invite.Status.PENDING


def test_default_expiry_is_72_hours(issued):
    """An invitation expires 72 hours after it is sent by default."""
    assert issued.invite.expires_at - issued.invite.sent_at == timedelta(hours=72)


def test_expiry_setting(settings):
    """DANGO_INVITE_EXPIRY_HOURS sets how long a new link works."""
    settings.DANGO_INVITE_EXPIRY_HOURS = 5

    invite = create_invite("bob@example.com", "viewer").invite

    assert invite.expires_at - invite.sent_at == timedelta(hours=5)


def test_accept_creates_user_and_signs_in(client, issued):
    """Accepting creates the user with the invited role and password, then signs them in."""
    response = accept(client, issued.url, full_name="Bob Builder")

    assert response.status_code == 302
    assert response["Location"] == "/"
    bob = User.objects.get(email="bob@example.com")
    assert signed_in_user_id(client) == bob.pk
    assert bob.full_name == "Bob Builder"
    assert bob.check_password(GOOD_PASSWORD)
    assert get_role(bob) is Role.EDITOR
    assert bob.password_changed_at is not None
    address = EmailAddress.objects.get(user=bob)
    assert (address.email, address.verified, address.primary) == ("bob@example.com", True, True)
    invite = Invite.objects.get(pk=issued.invite.pk)
    assert invite.status == Invite.Status.ACCEPTED
    assert invite.user_id == bob.pk
    assert invite.closed_at is not None


def test_invite_events(audit_log, client, issued, admin_user):
    """Inviting and accepting record who did what, and never the token or password."""
    accept(client, issued.url)
    bob = User.objects.get(email="bob@example.com")

    invited = audit_log.records("user_invited")
    assert len(invited) == 1
    assert invited[0]["actor"]["id"] == admin_user.pk
    assert invited[0]["target"] == {"type": "invite", "id": issued.invite.pk, "email": "bob@example.com"}
    assert invited[0]["details"] == {"role": "editor", "resent": False}
    accepted = audit_log.records("invite_accepted")
    assert len(accepted) == 1
    assert accepted[0]["actor"]["id"] == bob.pk
    assert accepted[0]["ip"] == "127.0.0.1"
    created = [record for record in audit_log.records("user_created") if record["target"]["id"] == bob.pk]
    assert len(created) == 1
    assert [record["details"]["reason"] for record in audit_log.records("password_changed")] == ["invite"]
    assert [record["actor"]["id"] for record in audit_log.records("login_success")] == [bob.pk]
    log_text = audit_log.path.read_text()
    assert issued.token not in log_text
    assert issued.invite.token_hash not in log_text
    assert GOOD_PASSWORD not in log_text


def test_token_leaves_the_address_bar(client, issued):
    """Opening the link moves the token into the session and redirects to a URL without it."""
    response = open_link(client, issued.url)

    assert response.status_code == 302
    assert response["Location"] == "/invite/accept/"
    page = client.get("/invite/accept/")
    assert page.status_code == 200
    assert issued.token not in page.content.decode()
    assert "bob@example.com" in page.content.decode()
    assert "Editor" in page.content.decode()
    assert page["Cache-Control"].startswith("max-age=0")


def test_invalid_token_page(client, db):
    """An unknown token shows a clear page and creates nothing."""
    response = client.get("/invite/not-a-real-token/")

    assert response.status_code == 404
    assert "This invitation link is not valid" in response.content.decode()
    assert User.objects.count() == 0


def test_overlong_token_is_invalid(client, db):
    """A token longer than any issued one is treated as unknown."""
    response = client.get("/invite/" + "a" * 500 + "/")

    assert response.status_code == 404


def test_accept_page_without_opened_link(client, db):
    """The accept page without a link opened in this session is the invalid-link page."""
    assert client.get("/invite/accept/").status_code == 404
    assert client.post("/invite/accept/", {"password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD}).status_code == 404
    assert User.objects.count() == 0


def test_expired_link(client, issued):
    """A link past its expiry shows when it expired and changes nothing."""
    with time_machine.travel(timezone.now() + timedelta(hours=72, seconds=1)):
        response = open_link(client, issued.url)

    assert response.status_code == 410
    assert "This invitation has expired" in response.content.decode()
    assert not User.objects.filter(email="bob@example.com").exists()
    assert Invite.objects.get(pk=issued.invite.pk).status == Invite.Status.PENDING


def test_link_expiring_while_form_is_open(client, issued):
    """Submitting the form after the link expired is refused and creates nothing."""
    open_link(client, issued.url)

    with time_machine.travel(timezone.now() + timedelta(hours=73)):
        response = client.post("/invite/accept/", {"password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD})

    assert response.status_code == 410
    assert not User.objects.filter(email="bob@example.com").exists()
    assert signed_in_user_id(client) is None


def test_reused_link(client, issued):
    """A link works once; opening it again shows that it was used."""
    accept(client, issued.url)

    other = Client()
    response = open_link(other, issued.url)

    assert response.status_code == 410
    assert "This invitation was already used" in response.content.decode()
    assert User.objects.filter(email="bob@example.com").count() == 1


def test_second_submit_of_same_form_refused(client, issued):
    """Posting the acceptance form twice from two tabs creates one user."""
    second_tab = Client()
    open_link(second_tab, issued.url)
    accept(client, issued.url)

    response = second_tab.post("/invite/accept/", {"password1": "Another-Pass-91x", "password2": "Another-Pass-91x"})

    assert response.status_code == 410
    bob = User.objects.get(email="bob@example.com")
    assert bob.check_password(GOOD_PASSWORD)


def test_revoked_link(audit_log, client, issued, admin_user):
    """A revoked invitation's link shows that it was revoked and changes nothing."""
    revoke_invite(issued.invite, actor=admin_user)

    response = open_link(client, issued.url)

    assert response.status_code == 410
    assert "This invitation was revoked" in response.content.decode()
    assert not User.objects.filter(email="bob@example.com").exists()
    revoked = audit_log.records("invite_revoked")
    assert len(revoked) == 1
    assert revoked[0]["actor"]["id"] == admin_user.pk
    assert revoked[0]["target"]["id"] == issued.invite.pk


def test_resent_old_token_dead(audit_log, client, issued, admin_user):
    """Resending issues a new link; the old one is then unknown."""
    resent = resend_invite(issued.invite, actor=admin_user)

    assert resent.token != issued.token
    assert open_link(Client(), issued.url).status_code == 404
    response = accept(client, resent.url)
    assert response.status_code == 302
    assert User.objects.filter(email="bob@example.com").exists()
    assert [record["details"]["resent"] for record in audit_log.records("user_invited")] == [False, True]


def test_resend_revives_expired_invite(client, issued):
    """Resending an expired invitation gives it a new expiry from now."""
    later = timezone.now() + timedelta(hours=100)
    with time_machine.travel(later, tick=False):
        resent = resend_invite(issued.invite)
        assert resent.invite.expires_at == later + timedelta(hours=72)
        assert accept(client, resent.url).status_code == 302


@pytest.mark.parametrize(
    "password,message",
    [
        ("short1!", "This password is too short"),
        ("password123", "This password is too common"),
        ("84736251904", "This password is entirely numeric"),
        ("bob@example.com1", "too similar"),
    ],
)
def test_weak_password_rejected(client, issued, password, message):
    """A password that breaks the policy is refused with the policy's reason; nothing changes."""
    response = accept(client, issued.url, password=password)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.filter(email="bob@example.com").exists()
    assert Invite.objects.get(pk=issued.invite.pk).status == Invite.Status.PENDING
    assert signed_in_user_id(client) is None
    retry = client.post("/invite/accept/", {"password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD})
    assert retry.status_code == 302


def test_mismatched_passwords_rejected(client, issued):
    """Two different passwords are refused with a form error."""
    response = accept(client, issued.url, password2=GOOD_PASSWORD + "x")

    assert response.status_code == 200
    assert "The two passwords do not match" in response.content.decode()
    assert not User.objects.filter(email="bob@example.com").exists()


def test_account_created_meanwhile(client, issued, make_user):
    """If the address got an account after the invitation, accepting explains and changes nothing."""
    open_link(client, issued.url)
    make_user("bob@example.com")

    response = client.post("/invite/accept/", {"password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD})

    assert response.status_code == 200
    assert "already has a Dango account" in response.content.decode()
    assert Invite.objects.get(pk=issued.invite.pk).status == Invite.Status.PENDING


@pytest.mark.parametrize(
    "next_url,expected",
    [("/account/", "/account/"), ("https://evil.example/", "/"), ("//evil.example/", "/"), ("/\\evil.example", "/")],
)
def test_next_after_accept_only_to_site_paths(client, issued, next_url, expected):
    """After accepting, next= is followed only when it is a path on this site."""
    response = accept(client, issued.url, next=next_url)

    assert response.status_code == 302
    assert response["Location"] == expected


def test_open_link_needs_get(client, issued):
    """The invite link accepts only GET and HEAD."""
    assert client.post(link_path(issued.url)).status_code == 405


def test_invite_link_rate_limited(audit_log, client, issued, caplog):
    """Too many invite-link requests from one IP get 429, even for a valid token, which no log shows."""
    for attempt in range(INVITE_RATE_LIMIT.limit):
        assert client.get(f"/invite/guess-{attempt}/").status_code == 404

    response = open_link(client, issued.url)

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    records = audit_log.records("rate_limit_hit")
    assert records[0]["details"]["limit"] == "invite_link"
    assert records[0]["details"]["scope"] == "ip"
    # The audit log names a page whose address carries a secret by its URL pattern.
    assert records[0]["details"]["path"] == "/invite/<str:token>/"
    assert issued.token not in audit_log.path.read_text()
    assert "Too Many Requests: /invite/redacted/" in caplog.text
    assert issued.token not in caplog.text
    other_ip = Client(REMOTE_ADDR="192.0.2.7")
    assert open_link(other_ip, issued.url).status_code == 302


def test_invited_user_keeps_password_after_google(oauth_flow, issued):
    """An invited user who then signs in with Google keeps a working password."""
    accept(oauth_flow.client, issued.url)
    bob = User.objects.get(email="bob@example.com")
    oauth_flow.client.logout()

    response = oauth_flow.sign_in(Identity("google", "g-bob", [("bob@example.com", True, True)]))

    assert response.status_code == 302
    assert signed_in_user_id(oauth_flow.client) == bob.pk
    bob.refresh_from_db()
    assert bob.has_usable_password()
    assert bob.check_password(GOOD_PASSWORD)
    oauth_flow.client.logout()
    login = oauth_flow.client.post("/accounts/login/", {"login": "bob@example.com", "password": GOOD_PASSWORD})
    assert login.status_code == 302
    assert signed_in_user_id(oauth_flow.client) == bob.pk


def test_email_change_drops_old_verified_address(client, issued):
    """Changing a user's email removes the EmailAddress row of the old address."""
    accept(client, issued.url)
    bob = User.objects.get(email="bob@example.com")

    bob.email = "robert@example.com"
    bob.save()

    assert list(EmailAddress.objects.filter(user=bob).values_list("email", flat=True)) == []


class TestCreateInviteErrors:
    def test_invalid_email(self, db):
        """An address that is not an email is refused."""
        with pytest.raises(InviteError) as raised:
            create_invite("not-an-email", "viewer")
        assert raised.value.code == "invalid_email"
        assert Invite.objects.count() == 0

    def test_invalid_role(self, db):
        """An unknown role is refused with the valid choices."""
        with pytest.raises(InviteError) as raised:
            create_invite("bob@example.com", "owner")
        assert raised.value.code == "invalid_role"
        assert "admin, editor, viewer" in raised.value.messages[0]

    def test_existing_user(self, make_user):
        """An address that already has an account cannot be invited."""
        make_user("bob@example.com")
        with pytest.raises(InviteError) as raised:
            create_invite("BOB@example.com", "viewer")
        assert raised.value.code == "user_exists"
        assert Invite.objects.count() == 0

    def test_pending_invite(self, issued):
        """A second invitation while one is pending is refused with a pointer to resend."""
        with pytest.raises(InviteError) as raised:
            create_invite("bob@example.com", "viewer")
        assert raised.value.code == "invite_pending"
        assert "Resend it" in raised.value.messages[0]
        assert Invite.objects.count() == 1

    def test_expired_invite_is_replaced(self, issued):
        """A new invitation for an address whose invitation expired replaces it."""
        with time_machine.travel(timezone.now() + timedelta(hours=80)):
            fresh = create_invite("bob@example.com", "viewer")
        old = Invite.objects.get(pk=issued.invite.pk)
        assert old.status == Invite.Status.EXPIRED
        assert fresh.invite.status == Invite.Status.PENDING

    def test_actor_without_users_manage(self, make_user):
        """An actor whose role lacks users.manage cannot invite."""
        editor = make_user("editor@example.com", role="editor")
        with pytest.raises(PermissionDenied):
            create_invite("bob@example.com", "viewer", actor=editor)
        assert Invite.objects.count() == 0

    def test_revoke_twice(self, issued):
        """Revoking an invitation that is no longer pending is refused."""
        revoke_invite(issued.invite)
        with pytest.raises(InviteError) as raised:
            revoke_invite(issued.invite)
        assert raised.value.code == "not_pending"

    def test_resend_accepted(self, client, issued):
        """An accepted invitation cannot be resent."""
        accept(client, issued.url)
        with pytest.raises(InviteError) as raised:
            resend_invite(issued.invite)
        assert raised.value.code == "not_pending"


def test_empty_form_post_shows_errors(client, issued):
    """Posting the form with no fields lists what is missing and creates nothing."""
    open_link(client, issued.url)

    response = client.post("/invite/accept/", {})

    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert not User.objects.filter(email="bob@example.com").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_accepts_create_one_user():
    """Two acceptances of one invitation at the same moment create exactly one user."""
    import threading

    from django.db import connection

    from accounts.invites.service import accept_invite

    invite = create_invite("bob@example.com", "viewer").invite
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt(password):
        try:
            barrier.wait()
            accept_invite(Invite.objects.get(pk=invite.pk), password)
            outcomes.append("created")
        except InviteError as error:
            outcomes.append(f"rejected: {error.code}")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(password,)) for password in ("Amber-Falcon-31", "Cobalt-Heron-72")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["created", "rejected: accepted"]
    assert User.objects.filter(email="bob@example.com").count() == 1
