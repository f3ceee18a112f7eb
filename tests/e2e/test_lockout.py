"""The sign-in lockout as a person meets it in a real browser."""

import pytest

from tests.e2e.pages import expect, sign_in

pytestmark = pytest.mark.browser

EMAIL = "dave@example.com"
WRONG_ATTEMPTS = 5
NOT_CORRECT = "The email address and/or password you specified are not correct."
PAUSED = ("Signing in with this email address from your network is paused after too many failed attempts. "
          "Try again in 15 minutes.")


def test_lockout_after_five_wrong_passwords(site, new_page):
    """Four wrong passwords get the form again; the fifth pauses sign-in, the right password included, until unlock."""
    base_url = site.base_url
    created = site.manage("users", "create", EMAIL, "--role", "viewer").stdout
    one_time_password = created.rsplit(":", 1)[1].strip()
    page = new_page()

    for attempt in range(1, WRONG_ATTEMPTS):
        sign_in(page, base_url, EMAIL, f"wrong-password-{attempt}")
        expect(page.locator("#login-form")).to_contain_text(NOT_CORRECT)

    with page.expect_response(lambda response: response.request.method == "POST") as last_wrong:
        sign_in(page, base_url, EMAIL, f"wrong-password-{WRONG_ATTEMPTS}")
    assert last_wrong.value.status == 429
    assert int(last_wrong.value.headers["retry-after"]) > 0
    expect(page.locator("h1")).to_have_text("Sign-in paused")
    expect(page.locator("main")).to_contain_text(PAUSED)
    expect(page.locator("#login-form")).to_have_count(0)

    sign_in(page, base_url, EMAIL, one_time_password)
    expect(page.locator("h1")).to_have_text("Sign-in paused")

    locked = [record for record in site.audit_records()
              if record["event"] == "account_locked" and (record["target"] or {}).get("email") == EMAIL]
    assert len(locked) == 1
    assert locked[0]["ip"] == "127.0.0.1"

    site.manage("users", "unlock", EMAIL)
    sign_in(page, base_url, EMAIL, one_time_password)
    expect(page).to_have_url(f"{base_url}/accounts/password/change/")
