"""A deployment's first day in a real browser: the first Admin signs in, secures the account and invites an Editor."""

import re

import pytest

from tests.e2e.pages import accept_invite, change_password, enrol_two_factor, expect, reauthenticate, sign_in

pytestmark = pytest.mark.browser

ADMIN_PASSWORD = "Harbour-Lantern-Quiet-62"
EDITOR_EMAIL = "erin@example.com"
EDITOR_PASSWORD = "Copper-Meadow-Falcon-48"


def test_first_admin_invites_editor(site, new_page):
    """The printed one-time password signs the first Admin in; a new password and 2FA come before anything else.

    The Admin then invites an Editor from the admin. The invitee opens the
    link in another browser and chooses a password. That signs them in as an
    Editor, whom the admin rejects.
    """
    base_url = site.base_url
    first_run = site.first_run
    admin_page = new_page()

    sign_in(admin_page, base_url, first_run.email, first_run.password)
    expect(admin_page).to_have_url(f"{base_url}/accounts/password/change/")
    # The one-time password opens nothing else until it is replaced.
    admin_page.goto(f"{base_url}/admin/")
    expect(admin_page).to_have_url(f"{base_url}/accounts/password/change/")
    change_password(admin_page, first_run.password, ADMIN_PASSWORD)
    expect(admin_page.locator("ul.messages")).to_contain_text("Password successfully changed.")

    # An Admin must use two-factor authentication, so every page leads to its
    # set-up, which first requests the new password again.
    admin_page.goto(f"{base_url}/")
    expect(admin_page).to_have_url(re.compile(r"/account/reauthenticate/\?next=%2Faccount%2Ftwo-factor%2Fenable%2F$"))
    reauthenticate(admin_page, ADMIN_PASSWORD)
    expect(admin_page).to_have_url(f"{base_url}/account/two-factor/enable/")
    expect(admin_page.locator("p.warning")).to_have_text("Your role requires two-factor authentication. "
                                                         "Set it up to continue.")
    _, recovery_codes = enrol_two_factor(admin_page)
    assert len(recovery_codes) == 10
    assert all(re.fullmatch(r"[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}", code) for code in recovery_codes)

    admin_page.goto(f"{base_url}/")
    expect(admin_page.locator("h1")).to_have_text(f"Signed in as {first_run.email}")
    expect(admin_page.locator("main")).to_contain_text("Your role is Admin. It grants 29 permissions")

    admin_page.goto(f"{base_url}/admin/accounts/invite/add/")
    admin_page.fill("#id_email", EDITOR_EMAIL)
    admin_page.select_option("#id_role", "editor")
    admin_page.click("input[name=_save]")
    expect(admin_page.locator("#invite-links tbody tr")).to_have_count(1)
    expect(admin_page.locator("#invite-links tbody td").nth(1)).to_have_text("Editor")
    link = admin_page.inner_text("code.invite-link").strip()
    assert link.startswith(f"{base_url}/invite/")

    invitee_page = new_page()
    accept_invite(invitee_page, base_url, link[len(base_url):], EDITOR_PASSWORD)
    expect(invitee_page).to_have_url(f"{base_url}/")
    expect(invitee_page.locator("h1")).to_have_text(f"Signed in as {EDITOR_EMAIL}")
    expect(invitee_page.locator("main")).to_contain_text("Your role is Editor. It grants 19 permissions")
    expect(invitee_page.locator(".topbar nav")).not_to_contain_text("Admin")

    for path in ("/admin/", "/admin/accounts/user/", "/admin/accounts/invite/add/"):
        response = invitee_page.goto(f"{base_url}{path}")
        assert response.status == 403, path
        expect(invitee_page.locator("h1")).to_have_text("Access denied")
        expect(invitee_page.locator("main")).to_contain_text("Your account cannot use the admin. Only Admins can.")

    # An invite link works only once.
    used_link_page = new_page()
    used_link_page.goto(link)
    expect(used_link_page.locator("#invite-form")).to_have_count(0)

    events = [(record["event"], (record["actor"] or {}).get("email")) for record in site.audit_records()]
    for expected in [
        ("login_success", first_run.email),
        ("password_changed", first_run.email),
        ("two_fa_enabled", first_run.email),
        ("user_invited", first_run.email),
        ("invite_accepted", EDITOR_EMAIL),
    ]:
        assert expected in events
    assert events.index(("password_changed", first_run.email)) < events.index(("two_fa_enabled", first_run.email))
