"""What a person does in the browser, step by step, and the authenticator app on their phone."""

import re
import time
from base64 import b32decode
from urllib.parse import urlsplit

from django_otp.oath import TOTP

TOTP_STEP = 30  # seconds, the period the site's authenticator setup page names


def expect(actual, message: str | None = None):
    """Return Playwright's ``expect``, imported on use so that a missing Playwright skips the tests instead."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(actual, message)


class Authenticator:
    """An authenticator app set up from the secret shown at enrolment.

    The site accepts the codes of the previous, current and next time step,
    but never a step at or before the last one it accepted. So each code
    comes from a later step than the one before. When that step is more than
    one step ahead of the clock, ``code()`` waits for the clock (at most one
    step, 30 seconds).
    """

    def __init__(self, secret: str):
        self.key = b32decode(secret.replace(" ", ""))
        self.last_step: int | None = None

    def code(self) -> str:
        current = int(time.time()) // TOTP_STEP
        step = current if self.last_step is None or self.last_step < current else self.last_step + 1
        if step > current + 1:
            time.sleep((step - 1) * TOTP_STEP - time.time() + 0.5)
        self.last_step = step
        totp = TOTP(self.key, step=TOTP_STEP, digits=6)
        totp.time = step * TOTP_STEP
        return f"{totp.token():06d}"


def sign_in(page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", password)
    page.click("#login-form button[type=submit]")


def enter_code(page, code: str) -> None:
    page.fill("#id_code", code)
    page.click("#two-factor-form button[type=submit]")


def sign_out(page) -> None:
    page.click(".topbar button:has-text('Sign out')")
    page.wait_for_url(re.compile(r"/accounts/login/"))


def change_password(page, current: str, new: str) -> None:
    """Fill in allauth's password change form, the only page a user with a one-time password can open."""
    page.fill("#id_oldpassword", current)
    page.fill("#id_password1", new)
    page.fill("#id_password2", new)
    page.click("main form[action='/accounts/password/change/'] button[type=submit]")


def reauthenticate(page, password: str, code: str | None = None) -> None:
    page.fill("#reauthenticate-form input[name=password]", password)
    if code is not None:
        page.fill("#reauthenticate-form input[name=code]", code)
    page.click("#reauthenticate-form button[type=submit]")


def enrol_two_factor(page) -> tuple[Authenticator, list[str]]:
    """On the set-up page: read the secret as a person types it into an app, confirm, return app and recovery codes."""
    authenticator = Authenticator(page.inner_text("#totp-secret"))
    page.fill("#id_code", authenticator.code())
    page.click("#enable-form button[type=submit]")
    page.wait_for_selector("#recovery-codes li")
    return authenticator, [code.strip() for code in page.locator("#recovery-codes li").all_inner_texts()]


def invite_path(link: str) -> str:
    """Return the path of an invite link; ``manage.py`` prints links for the default address, not the test's port."""
    return urlsplit(link).path


def accept_invite(page, base_url: str, path: str, password: str) -> None:
    page.goto(f"{base_url}{path}")
    page.fill("#id_password1", password)
    page.fill("#id_password2", password)
    page.click("#invite-form button[type=submit]")


def invite_by_command(site, email: str, role: str) -> str:
    """Invite ``email`` with ``manage.py users invite`` and return the path of the printed link."""
    output = site.manage("users", "invite", email, "--role", role).stdout
    links = [line.strip() for line in output.splitlines() if "/invite/" in line]
    assert len(links) == 1, f"manage.py users invite printed no single link:\n{output}"
    return invite_path(links[0])
