"""The copy button in a real headless Chromium: it copies the new key, with no inline script."""

import re
import shutil

import pytest
from django.conf import settings
from django.test import Client

from accounts.apikeys.keys import hash_key
from accounts.apikeys.models import ApiKey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PASSWORD = "Correct-Horse-42"


def create_key_in_browser(base_url: str, session_cookie: str) -> tuple[str, str, list[str]]:
    """Confirm the password, create a key, press Copy; return the shown key, the clipboard and script errors.

    Playwright's sync API runs an event loop in this thread, so Django's ORM
    must not be used until it has returned.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context()
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_cookie, "url": base_url}])
            page = context.new_page()
            script_errors = []
            page.on("pageerror", lambda error: script_errors.append(str(error)))

            page.goto(f"{base_url}/account/api-keys/new/")
            page.fill("input[name=password]", PASSWORD)
            page.click("main button[type=submit]")
            page.fill("input[name=name]", "browser script")
            with page.expect_response(lambda response: response.url.endswith("/apikeys.js")) as script:
                page.click("main button[type=submit]")
            assert script.value.status == 200

            shown = page.inner_text("#new-api-key").strip()
            page.click("button[data-copy-target=new-api-key]")
            page.wait_for_function("document.querySelector('button[data-copy-target]').textContent === 'Copied'")
            copied = page.evaluate("navigator.clipboard.readText()")
        finally:
            browser.close()
    return shown, copied, script_errors


def test_copy_button_copies_new_key(live_server, make_user):
    if CHROMIUM is None:
        pytest.skip("needs Chromium (Debian package chromium)")
    user = make_user("browser@example.com", password=PASSWORD, role="viewer")
    session_client = Client()
    session_client.force_login(user)
    cookie = session_client.cookies[settings.SESSION_COOKIE_NAME].value

    shown, copied, script_errors = create_key_in_browser(live_server.url, cookie)

    assert re.fullmatch(r"dango_ak_[A-Za-z0-9_-]{43}", shown)
    assert copied == shown
    assert script_errors == []
    assert ApiKey.objects.get(user=user).key_hash == hash_key(shown)
