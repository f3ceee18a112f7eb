"""The site's pages satisfy its Content-Security-Policy: no inline script or style.

Three layers: the template sources, the HTML the server renders, and a real
Chromium that reports every CSP violation while it loads the pages.
"""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client

REPO_ROOT = Path(__file__).resolve().parents[2]
SITE_TEMPLATES = REPO_ROOT / "templates"

# Script types a browser does not execute, used to pass data to scripts.
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}

ANONYMOUS_PAGES = ["/accounts/login/", "/accounts/password/reset/", "/no-such-page/"]
SIGNED_IN_PAGES = ["/", "/account/", "/accounts/password/change/", "/admin/", "/admin/accounts/user/"]


class InlineCodeFinder(HTMLParser):
    """Collect every construct that a CSP without 'unsafe-inline' blocks."""

    def __init__(self):
        super().__init__()
        self.findings: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and "src" not in attributes:
            if (attributes.get("type") or "").lower() not in DATA_SCRIPT_TYPES:
                self.findings.append(f"inline <script> at line {self.getpos()[0]}")
        if tag == "style":
            self.findings.append(f"<style> element at line {self.getpos()[0]}")
        for name, value in attrs:
            if name == "style":
                self.findings.append(f"style attribute on <{tag}> at line {self.getpos()[0]}")
            if name.startswith("on"):
                self.findings.append(f"{name} handler on <{tag}> at line {self.getpos()[0]}")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith("javascript:"):
                self.findings.append(f"javascript: URL in {name} on <{tag}> at line {self.getpos()[0]}")


def find_inline_code(html: str) -> list[str]:
    finder = InlineCodeFinder()
    finder.feed(html)
    finder.close()
    return finder.findings


def test_finder_detects_inline_code():
    """The inline-code finder reports each kind of inline code it looks for."""
    html = (
        '<script>alert(1)</script><script type="application/json">{}</script><script src="/a.js"></script>'
        '<style>p{}</style><p style="color:red" onclick="x()"><a href="javascript:void(0)">x</a></p>'
    )
    findings = find_inline_code(html)
    assert len(findings) == 5
    assert any("inline <script>" in finding for finding in findings)
    assert any("<style> element" in finding for finding in findings)
    assert any("style attribute" in finding for finding in findings)
    assert any("onclick handler" in finding for finding in findings)
    assert any("javascript: URL" in finding for finding in findings)


@pytest.mark.parametrize("template", sorted(SITE_TEMPLATES.rglob("*.html")), ids=lambda path: str(path.relative_to(SITE_TEMPLATES)))
def test_site_template_has_no_inline_code(template):
    """No site template contains inline script, style, event handlers or javascript: URLs."""
    source = template.read_text(encoding="utf-8")
    # Template tags could hide markup from the HTML parser; blank them out.
    source = re.sub(r"{%.*?%}|{{.*?}}", "", source, flags=re.S)
    assert find_inline_code(source) == []


@pytest.mark.django_db
@pytest.mark.parametrize("path", ANONYMOUS_PAGES)
def test_rendered_anonymous_page_has_no_inline_code(client, path):
    """Pages served to anonymous visitors contain no inline code."""
    response = client.get(path)
    assert response.status_code in (200, 404)
    assert find_inline_code(response.content.decode()) == []


@pytest.mark.django_db
@pytest.mark.parametrize("path", SIGNED_IN_PAGES)
def test_rendered_signed_in_page_has_no_inline_code(admin_client, path):
    """Pages served to a signed-in Admin, the Django admin included, contain no inline code."""
    response = admin_client.get(path, follow=True)
    assert response.status_code == 200
    assert find_inline_code(response.content.decode()) == []


@pytest.mark.browser
@pytest.mark.tools("chromium")
@pytest.mark.django_db(transaction=True)
def test_browser_reports_no_csp_violation(live_server, admin_user, host_tool):
    """Chromium loads the site's pages under the site's CSP without a single violation."""
    from playwright.sync_api import sync_playwright

    session_client = Client()
    session_client.force_login(admin_user)
    session_cookie = session_client.cookies["sessionid"].value

    violations = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=host_tool("chromium"), args=["--no-sandbox"])
        try:
            anonymous = browser.new_context()
            signed_in = browser.new_context()
            signed_in.add_cookies([{"name": "sessionid", "value": session_cookie, "url": live_server.url}])
            for context, paths in ((anonymous, ANONYMOUS_PAGES), (signed_in, SIGNED_IN_PAGES)):
                # The listener is installed by the browser itself, so the CSP does not apply to it.
                context.add_init_script(
                    "window.__cspViolations = [];"
                    "document.addEventListener('securitypolicyviolation', event => "
                    "window.__cspViolations.push(event.violatedDirective + ' ' + event.blockedURI));"
                )
                page = context.new_page()
                page.on("console", lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None)
                for path in paths:
                    response = page.goto(live_server.url + path)
                    assert response is not None
                    assert "Content-Security-Policy" in {name.title() for name in response.headers}
                    page.wait_for_load_state("load")
                    violations.extend(f"{path}: {text}" for text in page.evaluate("window.__cspViolations"))
                    # The page's own stylesheet loaded, so 'self' covers the site's assets.
                    assert page.evaluate("document.styleSheets.length") >= 1, path
        finally:
            browser.close()
    assert violations == []
