"""Linking and unlinking Google and GitHub identities from the account page."""

import pytest
from allauth.socialaccount.models import SocialAccount

from tests.accounts.onboarding.fake_provider import Identity

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(make_user):
    return make_user("alice@example.com", "Correct-Horse-42")


@pytest.fixture
def signed_in(oauth_flow, alice):
    oauth_flow.client.force_login(alice)
    return oauth_flow


def link(flow, identity):
    return flow.sign_in(identity, process="connect", next_url="/account/")


def test_account_page_offers_configured_providers(signed_in):
    """The account page has a link button for each configured provider."""
    page = signed_in.client.get("/account/").content.decode()

    assert 'id="link-google"' in page
    assert 'id="link-github"' in page


def test_account_page_without_providers_has_no_section(client, alice):
    """With no provider configured and nothing linked, the section is absent."""
    client.force_login(alice)

    page = client.get("/account/").content.decode()

    assert 'id="linked-accounts"' not in page


def test_link_from_account_page(signed_in, alice, audit_log):
    """A signed-in user links a GitHub identity and returns to the account page."""
    response = link(signed_in, Identity("github", "777", [("alice-personal@example.org", True, True)],
                                        login="alice-gh"))

    assert response.status_code == 302
    assert response["Location"] == "/account/"
    account = SocialAccount.objects.get(provider="github", uid="777")
    assert account.user_id == alice.pk
    records = audit_log.records("oauth_account_linked")
    assert len(records) == 1
    assert records[0]["actor"]["id"] == alice.pk
    assert records[0]["target"]["id"] == alice.pk
    page = signed_in.client.get("/account/").content.decode()
    assert "alice-personal@example.org" in page
    assert f'id="unlink-{account.pk}"' in page


def test_link_needs_no_matching_email(signed_in, alice):
    """Linking while signed in proves both identities, so even an unverified address links."""
    link(signed_in, Identity("google", "g-9", [("someone-else@example.org", False, True)]))

    assert SocialAccount.objects.get(provider="google", uid="g-9").user_id == alice.pk


def test_linked_identity_then_signs_in(signed_in, alice):
    """After linking, the identity signs in as the user on its own."""
    identity = Identity("github", "777", [("alice-personal@example.org", True, True)])
    link(signed_in, identity)
    signed_in.client.logout()

    response = signed_in.sign_in(identity)

    assert response.status_code == 302
    assert int(signed_in.client.session["_auth_user_id"]) == alice.pk


def test_link_identity_of_other_user_refused(signed_in, alice, make_user, audit_log):
    """An identity linked to another user stays with that user."""
    bob = make_user("bob@example.com")
    SocialAccount.objects.create(user=bob, provider="github", uid="777")

    link(signed_in, Identity("github", "777", [("bob@example.com", True, True)]))

    assert SocialAccount.objects.get(provider="github", uid="777").user_id == bob.pk
    assert not SocialAccount.objects.filter(user=alice).exists()
    assert audit_log.records("oauth_account_linked") == []


def test_unlink(signed_in, alice, audit_log):
    """A user with a password unlinks an identity; the event names the provider."""
    account = SocialAccount.objects.create(user=alice, provider="google", uid="g-1")

    response = signed_in.client.post(f"/account/linked/{account.pk}/unlink/")

    assert response.status_code == 302
    assert not SocialAccount.objects.filter(pk=account.pk).exists()
    records = audit_log.records("oauth_account_unlinked")
    assert len(records) == 1
    assert records[0]["details"]["provider"] == "google"
    assert records[0]["target"]["id"] == alice.pk


def test_unlink_last_way_to_sign_in_refused(oauth_flow, make_user, audit_log):
    """Unlinking the only sign-in method of a user without a password is refused."""
    carol = make_user("carol@example.com", None)
    account = SocialAccount.objects.create(user=carol, provider="google", uid="g-carol")
    oauth_flow.client.force_login(carol)

    response = oauth_flow.client.post(f"/account/linked/{account.pk}/unlink/", follow=True)

    assert SocialAccount.objects.filter(pk=account.pk).exists()
    assert "is the only way carol@example.com can sign in" in response.content.decode()
    assert audit_log.records("oauth_account_unlinked") == []


def test_unlink_allowed_while_another_link_remains(oauth_flow, make_user):
    """A user without a password may unlink one identity while another stays linked."""
    carol = make_user("carol@example.com", None)
    google = SocialAccount.objects.create(user=carol, provider="google", uid="g-carol")
    github = SocialAccount.objects.create(user=carol, provider="github", uid="55")
    oauth_flow.client.force_login(carol)

    oauth_flow.client.post(f"/account/linked/{google.pk}/unlink/")
    oauth_flow.client.post(f"/account/linked/{github.pk}/unlink/")

    assert list(SocialAccount.objects.filter(user=carol)) == [github]


def test_unlink_other_users_identity_not_found(signed_in, make_user):
    """Another user's link id returns 404 and stays linked."""
    bob = make_user("bob@example.com")
    account = SocialAccount.objects.create(user=bob, provider="google", uid="g-bob")

    response = signed_in.client.post(f"/account/linked/{account.pk}/unlink/")

    assert response.status_code == 404
    assert SocialAccount.objects.filter(pk=account.pk).exists()


def test_unlink_needs_post(signed_in, alice):
    """Unlinking through GET is not allowed."""
    account = SocialAccount.objects.create(user=alice, provider="google", uid="g-1")

    response = signed_in.client.get(f"/account/linked/{account.pk}/unlink/")

    assert response.status_code == 405
    assert SocialAccount.objects.filter(pk=account.pk).exists()


def test_allauth_connections_page_keeps_last_way_rule(oauth_flow, make_user, audit_log):
    """allauth's own connections page refuses the same last-way unlink and records real unlinks."""
    carol = make_user("carol@example.com", None)
    google = SocialAccount.objects.create(user=carol, provider="google", uid="g-carol")
    oauth_flow.client.force_login(carol)

    oauth_flow.client.post("/accounts/3rdparty/", {"account": google.pk})
    assert SocialAccount.objects.filter(pk=google.pk).exists()

    github = SocialAccount.objects.create(user=carol, provider="github", uid="55")
    oauth_flow.client.post("/accounts/3rdparty/", {"account": github.pk})

    assert list(SocialAccount.objects.filter(user=carol)) == [google]
    assert [record["details"]["provider"] for record in audit_log.records("oauth_account_unlinked")] == ["github"]


def test_admin_unlink_action_keeps_last_way_rule(admin_client, make_user, audit_log):
    """The admin's unlink action removes links but not a user's last way to sign in."""
    carol = make_user("carol@example.com", None)
    only = SocialAccount.objects.create(user=carol, provider="google", uid="g-carol")
    dave = make_user("dave@example.com", "Correct-Horse-42")
    removable = SocialAccount.objects.create(user=dave, provider="github", uid="56")

    response = admin_client.post(
        "/admin/socialaccount/socialaccount/",
        {"action": "unlink_accounts", "_selected_action": [only.pk, removable.pk]},
        follow=True,
    )

    assert "is the only way carol@example.com can sign in" in response.content.decode()
    assert list(SocialAccount.objects.all()) == [only]
    records = audit_log.records("oauth_account_unlinked")
    assert [record["target"]["id"] for record in records] == [dave.pk]


def test_user_without_password_can_set_one(oauth_flow, make_user):
    """A user created by OAuth sets a first password from the account page's link."""
    carol = make_user("carol@example.com", None)
    oauth_flow.client.force_login(carol)

    change = oauth_flow.client.get("/accounts/password/change/")
    assert change.status_code == 302
    assert change["Location"] == "/accounts/password/set/"
    response = oauth_flow.client.post(
        "/accounts/password/set/", {"password1": "Lantern-Orbit-Violet-7", "password2": "Lantern-Orbit-Violet-7"}
    )

    assert response.status_code == 302
    carol.refresh_from_db()
    assert carol.check_password("Lantern-Orbit-Violet-7")
