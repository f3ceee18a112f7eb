"""The Credentials page in a real browser: data-source secrets appear masked only."""

import pytest

from tests.e2e.pages import accept_invite, expect, invite_by_command

pytestmark = pytest.mark.browser

EMAIL = "grace@example.com"
PASSWORD = "Saffron-Bridge-Wren-27"
# (source, key within the source, value, what the page shows)
SECRETS = [
    ("sources.stripe", "api_key", "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "••••p7dc"),
    ("sources.postgres", "credentials.password", "hunter22", "••••"),
]


def test_credentials_page_masks_values(site, new_page):
    """The page shows an Editor every stored secret as ••••abcd (•••• when short), and no raw value anywhere."""
    for source, key, value, _ in SECRETS:
        site.manage("secrets", "set", f"{source}.{key}", "--stdin", input=value)
    base_url = site.base_url
    page = new_page()
    accept_invite(page, base_url, invite_by_command(site, EMAIL, "editor"), PASSWORD)
    expect(page.locator("h1")).to_have_text(f"Signed in as {EMAIL}")

    page.click(".topbar nav a:has-text('Credentials')")
    expect(page.locator("h1")).to_have_text("Credentials")
    for source, key, _, masked in SECRETS:
        table = page.locator(f"h2:has(code:text-is('{source}')) + table")
        row = table.locator(f"tr:has(td code:text-is('{key}'))")
        expect(row.locator("td").nth(1)).to_have_text(masked)
    html = page.content()
    for _, _, value, _ in SECRETS:
        assert value not in html
    # Revealing needs source.view_credentials, which only Admins hold.
    expect(page.locator("button:has-text('Reveal')")).to_have_count(0)

    for _, _, value, _ in SECRETS:
        assert value not in site.server_log()
        assert value not in site.audit_log_path.read_text()
