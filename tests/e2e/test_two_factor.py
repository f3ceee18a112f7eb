"""Two-factor authentication in a real browser: enrolment, then sign-in with a TOTP code and with a recovery code."""

import re

import pytest

from tests.e2e.pages import accept_invite, enrol_two_factor, enter_code, expect, invite_by_command, reauthenticate, \
    sign_in, sign_out

pytestmark = pytest.mark.browser

EMAIL = "carol@example.com"
PASSWORD = "Violet-Harbour-Tide-93"


def test_sign_in_with_totp_and_recovery_code(site, new_page):
    """After enrolment, sign-in asks for a code; a TOTP code and a recovery code each finish it, a used one does not."""
    base_url = site.base_url
    page = new_page()
    accept_invite(page, base_url, invite_by_command(site, EMAIL, "viewer"), PASSWORD)
    expect(page.locator("h1")).to_have_text(f"Signed in as {EMAIL}")

    page.goto(f"{base_url}/account/")
    expect(page.locator("#two-factor")).to_contain_text("Off: signing in needs only your password.")
    page.click("text=Turn on two-factor authentication")
    expect(page).to_have_url(re.compile(r"/account/reauthenticate/"))
    reauthenticate(page, PASSWORD)
    expect(page).to_have_url(f"{base_url}/account/two-factor/enable/")
    expect(page.locator(".qr-code svg")).to_be_visible()
    authenticator, recovery_codes = enrol_two_factor(page)
    assert len(recovery_codes) == 10
    sign_out(page)

    sign_in(page, base_url, EMAIL, PASSWORD)
    expect(page).to_have_url(f"{base_url}/login/two-factor/")
    expect(page.locator("main")).to_contain_text(f"To finish signing in as {EMAIL}")
    enter_code(page, authenticator.code())
    expect(page).to_have_url(f"{base_url}/")
    expect(page.locator("h1")).to_have_text(f"Signed in as {EMAIL}")
    sign_out(page)

    sign_in(page, base_url, EMAIL, PASSWORD)
    expect(page).to_have_url(f"{base_url}/login/two-factor/")
    enter_code(page, recovery_codes[0])
    expect(page.locator("h1")).to_have_text(f"Signed in as {EMAIL}")
    page.goto(f"{base_url}/account/")
    expect(page.locator("#recovery-codes-remaining")).to_have_text("9")
    sign_out(page)

    sign_in(page, base_url, EMAIL, PASSWORD)
    enter_code(page, recovery_codes[0])
    expect(page).to_have_url(f"{base_url}/login/two-factor/")
    expect(page.locator("#two-factor-form")).to_contain_text("That code was already used.")
    # Still not signed in: the site keeps asking for the second factor.
    page.goto(f"{base_url}/")
    expect(page).to_have_url(f"{base_url}/login/two-factor/")

    events = [record["event"] for record in site.audit_records()
              if (record["actor"] or {}).get("email") == EMAIL or (record["target"] or {}).get("email") == EMAIL]
    assert events.count("two_fa_enabled") == 1
    assert events.count("recovery_code_used") == 1
    assert events.count("two_fa_failure") == 1
