"""End to end in headless Chromium: enrol 2FA from the secret on the page, sign out, sign in with a code.

Playwright's sync API runs an asyncio loop in this thread while the
browser is open, and Django refuses ORM calls from a thread with a running
loop (SynchronousOnlyOperation). Rather than switch that guard off with
DJANGO_ALLOW_ASYNC_UNSAFE, the test touches the database only before the
browser starts and after it closes. The live server handles the browser's
requests in its own thread.
"""

import re
import time
from base64 import b32decode
from pathlib import Path

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.twofactor.models import RecoveryCode
from tests.accounts.two_factor.conftest import PASSWORD
from tests.conftest import chromium_path

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def code_for(secret: str, step_offset: int = 0) -> str:
    totp = TOTP(b32decode(secret.replace(" ", "")), step=30, digits=6)
    totp.time = time.time() + step_offset * 30
    return f"{totp.token():06d}"


def sign_in(page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form button[type=submit]")


@pytest.mark.browser
def test_enrol_sign_out_sign_in(live_server, make_user, request):
    """A user enrols by typing the shown secret into an authenticator, then signs in with a code."""
    from playwright.sync_api import expect, sync_playwright

    user = make_user("erin@example.com", PASSWORD, role="editor")
    base_url = live_server.url

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        try:
            sign_in(page, base_url, user.email)
            expect(page.locator("h1")).to_have_text(f"Signed in as {user.email}")

            page.goto(f"{base_url}/account/")
            page.click("text=Turn on two-factor authentication")
            expect(page).to_have_url(re.compile(r"/account/reauthenticate/"))
            page.fill("#id_password", PASSWORD)
            page.click("#reauthenticate-form button[type=submit]")

            expect(page).to_have_url(f"{base_url}/account/two-factor/enable/")
            expect(page.locator(".qr-code svg")).to_be_visible()
            secret = page.inner_text("#totp-secret")
            page.fill("#id_code", code_for(secret))
            page.click("#enable-form button[type=submit]")
            expect(page.locator("#recovery-codes li")).to_have_count(10)

            page.click(".topbar button:has-text('Sign out')")
            expect(page).to_have_url(re.compile(r"/accounts/login/"))

            sign_in(page, base_url, user.email)
            expect(page).to_have_url(f"{base_url}/login/two-factor/")
            # The enrolment code used up its time step; the next step's code
            # is within the one-step tolerance and has not been used.
            page.fill("#id_code", code_for(secret, step_offset=1))
            page.click("#two-factor-form button[type=submit]")
            expect(page.locator("h1")).to_have_text(f"Signed in as {user.email}")
        except Exception:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
            raise
        finally:
            browser.close()

    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed
    assert RecoveryCode.objects.filter(device__user=user, used_at=None).count() == 10
