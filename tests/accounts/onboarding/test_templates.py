"""The onboarding pages carry no inline scripts or styles, so a strict CSP can apply."""

import re

import pytest
from allauth.socialaccount.models import SocialAccount

from accounts.invites.service import create_invite
from tests.accounts.onboarding.fake_provider import Identity

pytestmark = pytest.mark.django_db

INLINE = re.compile(r"<script|<style|\sstyle=|\son[a-z]+=", re.IGNORECASE)


def assert_no_inline_code(response):
    html = response.content.decode()
    assert not INLINE.search(html), INLINE.search(html)


def test_pages_have_no_inline_code(oauth_flow, make_user):
    """Login, invite, refusal and account pages render without inline script or style."""
    client = oauth_flow.client
    assert_no_inline_code(client.get("/accounts/login/"))

    issued = create_invite("bob@example.com", "viewer")
    client.get(issued.url.removeprefix("http://testserver"))
    assert_no_inline_code(client.get("/invite/accept/"))
    assert_no_inline_code(client.get("/invite/unknown-token/"))

    assert_no_inline_code(oauth_flow.sign_in(Identity("google", "g-x", [("nobody@example.com", True, True)])))

    alice = make_user("alice@example.com")
    SocialAccount.objects.create(user=alice, provider="github", uid="1")
    client.force_login(alice)
    assert_no_inline_code(client.get("/account/"))
