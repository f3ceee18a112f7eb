"""Sign-in with Google and GitHub through the fake provider on 127.0.0.1."""

from datetime import timedelta

import pytest
import time_machine
from allauth.socialaccount.models import SocialAccount, SocialToken
from django.test import Client
from django.utils import timezone

from accounts.invites.models import Invite
from accounts.invites.service import create_invite
from accounts.models import User
from rbac.assignment import get_role
from rbac.roles import Role
from tests.accounts.onboarding.fake_provider import Identity

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-Horse-42"


def signed_in_user_id(client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


def google(uid="g-1001", email="alice@example.com", verified=True, **extra) -> Identity:
    return Identity("google", uid, [(email, verified, True)], **extra)


def github(uid="4242", emails=(("alice@example.com", True, True),), **extra) -> Identity:
    return Identity("github", uid, list(emails), **extra)


def test_google_known_user_signs_in(oauth_flow, make_user, audit_log):
    """A user whose address Google verified is signed in and the identity is linked."""
    alice = make_user("alice@example.com", PASSWORD)

    response = oauth_flow.sign_in(google())

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_user_id(oauth_flow.client) == alice.pk
    account = SocialAccount.objects.get(provider="google", uid="g-1001")
    assert account.user_id == alice.pk
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    linked = audit_log.records("oauth_account_linked")
    assert len(linked) == 1
    assert linked[0]["target"]["id"] == alice.pk
    assert linked[0]["details"]["provider"] == "google"
    assert linked[0]["ip"] == "127.0.0.1"
    assert [record["actor"]["id"] for record in audit_log.records("login_success")] == [alice.pk]


def test_google_userinfo_endpoint_is_used_without_id_token(oauth_flow, make_user):
    """Without an id_token in the token reply, the identity comes from Google's userinfo URL."""
    alice = make_user("alice@example.com")

    response = oauth_flow.sign_in(google(use_id_token=False))

    assert response.status_code == 302
    assert signed_in_user_id(oauth_flow.client) == alice.pk
    assert "/google/oauth2/v2/userinfo" in oauth_flow.fake.paths_requested()


def test_google_flow_uses_pkce(oauth_flow, make_user):
    """The Google token request carries a PKCE verifier matching the authorize challenge."""
    make_user("alice@example.com")

    oauth_flow.sign_in(google())

    token_request = oauth_flow.fake.token_requests[0]
    assert token_request["code_verifier"]
    assert token_request["redirect_uri"] == "http://testserver/accounts/google/login/callback/"


def test_github_known_user_signs_in(oauth_flow, make_user, audit_log):
    """A user matching a verified GitHub address is signed in through /user and /user/emails."""
    alice = make_user("alice@example.com", PASSWORD)
    identity = github(emails=[("alice@users.noreply.github.com", True, True), ("alice@example.com", True, False)])

    response = oauth_flow.sign_in(identity)

    assert response.status_code == 302
    assert signed_in_user_id(oauth_flow.client) == alice.pk
    assert SocialAccount.objects.get(provider="github", uid="4242").user_id == alice.pk
    paths = oauth_flow.fake.paths_requested()
    assert "/github/api/v3/user" in paths
    assert "/github/api/v3/user/emails" in paths
    assert [record["details"]["provider"] for record in audit_log.records("oauth_account_linked")] == ["github"]


def test_oauth_tokens_are_not_stored(oauth_flow, make_user, audit_log):
    """Neither the access token nor the id_token is kept in the database or the audit log."""
    make_user("alice@example.com")

    oauth_flow.sign_in(google())
    oauth_flow.client.logout()
    oauth_flow.sign_in(github())

    assert SocialToken.objects.count() == 0
    issued = list(oauth_flow.fake.access_tokens)
    assert len(issued) == 2
    stored = " ".join(str(account.extra_data) for account in SocialAccount.objects.all())
    log_text = audit_log.path.read_text()
    for token in issued:
        assert token not in stored
        assert token not in log_text


def test_linked_identity_signs_in_by_uid(oauth_flow, make_user, audit_log):
    """An identity linked earlier signs in by its uid, whatever address it reports now."""
    alice = make_user("alice@example.com")
    oauth_flow.sign_in(google())
    oauth_flow.client.logout()

    response = oauth_flow.sign_in(google(email="alice.new@example.com", verified=False))

    assert response.status_code == 302
    assert signed_in_user_id(oauth_flow.client) == alice.pk
    assert SocialAccount.objects.filter(user=alice).count() == 1
    assert len(audit_log.records("oauth_account_linked")) == 1


@pytest.mark.parametrize(
    "identity",
    [google(email="nobody@example.com"), github(emails=[("nobody@example.com", True, True)])],
    ids=["google", "github"],
)
def test_unknown_identity_refused(oauth_flow, make_user, audit_log, identity):
    """An identity whose verified address matches no user or invitation gets a clear refusal."""
    make_user("alice@example.com")

    response = oauth_flow.sign_in(identity)

    assert response.status_code == 403
    assert "No Dango user has an email address" in response.content.decode()
    assert "nobody@example.com" in response.content.decode()
    assert signed_in_user_id(oauth_flow.client) is None
    assert not User.objects.filter(email="nobody@example.com").exists()
    assert SocialAccount.objects.count() == 0
    rejected = audit_log.records("oauth_login_rejected")
    assert len(rejected) == 1
    assert rejected[0]["details"] == {"provider": identity.provider, "reason": "unknown_identity"}
    assert rejected[0]["target"]["email"] == "nobody@example.com"
    assert rejected[0]["actor"] is None


def test_google_unverified_email_refused(oauth_flow, make_user, audit_log):
    """A Google address not marked email_verified never signs in, even when a user has it."""
    alice = make_user("alice@example.com", PASSWORD)

    response = oauth_flow.sign_in(google(verified=False))

    assert response.status_code == 403
    assert "did not report a verified email address" in response.content.decode()
    assert signed_in_user_id(oauth_flow.client) is None
    assert SocialAccount.objects.count() == 0
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    rejected = audit_log.records("oauth_login_rejected")
    assert [record["details"]["reason"] for record in rejected] == ["no_verified_email"]


def test_github_unverified_email_refused(oauth_flow, make_user, audit_log):
    """A GitHub address that /user/emails lists as unverified never signs in."""
    make_user("alice@example.com")

    response = oauth_flow.sign_in(github(emails=[("alice@example.com", False, True)]))

    assert response.status_code == 403
    assert signed_in_user_id(oauth_flow.client) is None
    assert SocialAccount.objects.count() == 0
    assert [record["details"]["reason"] for record in audit_log.records("oauth_login_rejected")] == [
        "no_verified_email"
    ]


def test_github_only_verified_address_counts(oauth_flow, make_user):
    """Of two GitHub addresses, the unverified primary is ignored and the verified one decides."""
    make_user("alice@example.com")
    bob = make_user("bob@example.com")

    oauth_flow.sign_in(github(emails=[("alice@example.com", False, True), ("bob@example.com", True, False)]))

    assert signed_in_user_id(oauth_flow.client) == bob.pk


def test_addresses_of_two_users_refused(oauth_flow, make_user, audit_log):
    """An identity whose verified addresses belong to two users matches neither."""
    make_user("alice@example.com")
    make_user("bob@example.com")

    response = oauth_flow.sign_in(github(emails=[("alice@example.com", True, True), ("bob@example.com", True, False)]))

    assert response.status_code == 403
    assert signed_in_user_id(oauth_flow.client) is None
    assert [record["details"]["reason"] for record in audit_log.records("oauth_login_rejected")] == [
        "ambiguous_email"
    ]


def test_deactivated_user_refused(oauth_flow, make_user, audit_log):
    """A deactivated user cannot sign in by a matching verified address."""
    make_user("admin@example.com", role="admin")
    make_user("alice@example.com", is_active=False)

    response = oauth_flow.sign_in(google())

    assert response.status_code == 403
    assert "deactivated" in response.content.decode()
    assert signed_in_user_id(oauth_flow.client) is None
    assert SocialAccount.objects.count() == 0
    assert [record["details"]["reason"] for record in audit_log.records("oauth_login_rejected")] == ["inactive_user"]


def test_deactivated_user_refused_by_linked_identity(oauth_flow, make_user, audit_log):
    """A linked identity stops working when its user is deactivated."""
    make_user("admin@example.com", role="admin")
    alice = make_user("alice@example.com")
    oauth_flow.sign_in(github())
    oauth_flow.client.logout()
    alice.is_active = False
    alice.save()

    response = oauth_flow.sign_in(github())

    assert response.status_code == 403
    assert signed_in_user_id(oauth_flow.client) is None
    assert [record["details"]["reason"] for record in audit_log.records("oauth_login_rejected")] == ["inactive_user"]


def test_state_mismatch_refused(oauth_flow, make_user):
    """A callback whose state this session never issued is refused before any token request."""
    make_user("alice@example.com")
    oauth_flow.fake.sign_in_as(google())
    callback = oauth_flow.authorize(oauth_flow.start("google"))
    forged = callback.replace("state=", "state=forged")

    response = oauth_flow.finish(forged)

    assert response.status_code == 400
    assert "does not belong to a sign-in started in this browser" in response.content.decode()
    assert signed_in_user_id(oauth_flow.client) is None
    assert oauth_flow.fake.token_requests == []


def test_callback_from_another_browser_refused(oauth_flow, make_user):
    """A callback started in one browser session does not sign in another."""
    make_user("alice@example.com")
    oauth_flow.fake.sign_in_as(google())
    callback = oauth_flow.authorize(oauth_flow.start("google"))
    oauth_flow.client = Client()

    response = oauth_flow.finish(callback)

    assert response.status_code == 400
    assert signed_in_user_id(oauth_flow.client) is None
    assert oauth_flow.fake.token_requests == []


def test_callback_replay_refused(oauth_flow, make_user):
    """The same callback URL works once; its state is gone afterwards."""
    make_user("alice@example.com")
    oauth_flow.fake.sign_in_as(google())
    callback = oauth_flow.authorize(oauth_flow.start("google"))
    assert oauth_flow.finish(callback).status_code == 302
    oauth_flow.client.logout()

    response = oauth_flow.finish(callback)

    assert response.status_code == 400
    assert signed_in_user_id(oauth_flow.client) is None


def test_consent_denied_at_provider(oauth_flow, make_user):
    """Cancelling at the provider shows a plain page and signs no user in."""
    make_user("alice@example.com")
    oauth_flow.fake.sign_in_as(google())
    oauth_flow.fake.deny_consent("google")

    response = oauth_flow.finish(oauth_flow.authorize(oauth_flow.start("google")))

    assert response.status_code == 200
    assert "was cancelled" in response.content.decode()
    assert signed_in_user_id(oauth_flow.client) is None


def test_rejected_code_at_token_endpoint(oauth_flow, make_user, settings):
    """A token endpoint that rejects the client gives an error page, not a server error."""
    make_user("alice@example.com")
    providers = dict(settings.SOCIALACCOUNT_PROVIDERS)
    providers["github"] = {**providers["github"], "APP": {"client_id": "Iv1.dangotestclient", "secret": "wrong"}}
    settings.SOCIALACCOUNT_PROVIDERS = providers

    response = oauth_flow.sign_in(github())

    assert response.status_code == 400
    assert "could not complete the sign-in with GitHub" in response.content.decode()
    assert signed_in_user_id(oauth_flow.client) is None


@pytest.mark.parametrize(
    "next_url,expected",
    [
        ("/account/", "/account/"),
        ("https://evil.example/", "/"),
        ("//evil.example/account/", "/"),
        ("http://testserver/account/", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_next_after_oauth_only_to_site_paths(oauth_flow, make_user, next_url, expected):
    """After OAuth sign-in, next= is followed only when it is a path on this site."""
    make_user("alice@example.com")

    response = oauth_flow.sign_in(google(), next_url=next_url)

    assert response.status_code == 302
    assert response["Location"] == expected


def test_pending_invite_accepted_by_google(oauth_flow, audit_log):
    """A verified address with a pending invitation creates the invited user and signs them in."""
    issued = create_invite("carol@example.com", "editor")

    response = oauth_flow.sign_in(google(uid="g-carol", email="carol@example.com"))

    assert response.status_code == 302
    carol = User.objects.get(email="carol@example.com")
    assert signed_in_user_id(oauth_flow.client) == carol.pk
    assert get_role(carol) is Role.EDITOR
    assert not carol.has_usable_password()
    invite = Invite.objects.get(pk=issued.invite.pk)
    assert invite.status == Invite.Status.ACCEPTED
    assert invite.user_id == carol.pk
    assert SocialAccount.objects.get(uid="g-carol").user_id == carol.pk
    events = audit_log.events()
    for event in ["user_invited", "user_created", "invite_accepted", "login_success", "oauth_account_linked"]:
        assert event in events
    assert audit_log.records("invite_accepted")[0]["actor"]["id"] == carol.pk


def test_expired_invite_refused_by_google(oauth_flow, audit_log):
    """An expired invitation does not let a matching Google identity in."""
    create_invite("carol@example.com", "viewer")

    with time_machine.travel(timezone.now() + timedelta(hours=73)):
        response = oauth_flow.sign_in(google(uid="g-carol", email="carol@example.com"))

    assert response.status_code == 403
    assert "invitation for carol@example.com has expired" in response.content.decode()
    assert not User.objects.filter(email="carol@example.com").exists()
    assert [record["details"]["reason"] for record in audit_log.records("oauth_login_rejected")] == ["invite_expired"]


def test_revoked_invite_does_not_match(oauth_flow):
    """A revoked invitation is no invitation: the identity is refused as unknown."""
    from accounts.invites.service import revoke_invite

    revoke_invite(create_invite("carol@example.com", "viewer").invite)

    response = oauth_flow.sign_in(google(uid="g-carol", email="carol@example.com"))

    assert response.status_code == 403
    assert not User.objects.filter(email="carol@example.com").exists()


def test_unconfigured_provider_login_is_not_found(client, fake_oauth):
    """Starting sign-in with a provider that is not configured returns 404."""
    response = client.post("/accounts/google/login/")

    assert response.status_code == 404
    callback = client.get("/accounts/github/login/callback/", {"code": "x", "state": "y"})
    assert callback.status_code == 404
