"""Creating an API key in a real browser: the key is shown once, then only its prefix, and it works."""

import re

import pytest

from tests.e2e.pages import accept_invite, expect, invite_by_command

pytestmark = pytest.mark.browser

EMAIL = "frank@example.com"
PASSWORD = "Amber-Glacier-Otter-15"


def test_api_key_shown_once(site, new_page):
    """The new key is on the page that creates it and nowhere after; scripts can use it at once."""
    base_url = site.base_url
    page = new_page()
    accept_invite(page, base_url, invite_by_command(site, EMAIL, "editor"), PASSWORD)
    expect(page.locator("h1")).to_have_text(f"Signed in as {EMAIL}")

    page.goto(f"{base_url}/account/")
    expect(page.locator("#api-keys")).to_contain_text("You have no API keys.")
    page.click("text=Create an API key")
    expect(page.locator("h1")).to_have_text("Confirm it is you")
    page.fill("main input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    expect(page).to_have_url(f"{base_url}/account/api-keys/new/")
    page.fill("main input[name=name]", "nightly export")
    page.click("main button[type=submit]:has-text('Create key')")
    expect(page.locator("h1")).to_have_text("API key created")
    raw_key = page.inner_text("#new-api-key").strip()
    assert re.fullmatch(r"dango_ak_[A-Za-z0-9_-]{43}", raw_key)
    prefix = page.inner_text("main p:has-text('Authorization: Bearer') code").removeprefix("Authorization: Bearer ")
    prefix = prefix.rstrip("…")
    assert raw_key.startswith(prefix)
    assert len(prefix) < len(raw_key)

    page.goto(f"{base_url}/account/")
    expect(page.locator("#api-keys tbody tr")).to_have_count(1)
    expect(page.locator("#api-keys tbody tr")).to_contain_text("nightly export")
    expect(page.locator("#api-keys tbody td").first).to_have_text(f"{prefix}…")
    assert raw_key not in page.content()
    page.goto(f"{base_url}/account/api-keys/new/")
    assert raw_key not in page.content()
    page.go_back()
    assert raw_key not in page.content()

    response = site.request("GET", "/api/me", headers={"Authorization": f"Bearer {raw_key}"})
    assert response.status == 200
    body = response.json()
    assert body["user"]["email"] == EMAIL
    assert body["authentication"]["method"] == "api_key"
    assert body["authentication"]["api_key"]["name"] == "nightly export"
    created = [record for record in site.audit_records()
               if record["event"] == "api_key_created" and (record["actor"] or {}).get("email") == EMAIL]
    assert len(created) == 1
    assert all(raw_key not in line for line in site.audit_log_path.read_text().splitlines())
