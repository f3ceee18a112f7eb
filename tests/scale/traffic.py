"""HTTP traffic for the scale tests: forms with their CSRF token, signed-in sessions and concurrent bursts."""

import re
import threading
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from tests.e2e.live_site import LiveSite, Response

T = TypeVar("T")

CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
LOGIN_PATH = "/accounts/login/"
BURST_TIMEOUT = 300  # seconds until every request of a burst has its response


def cookie_value(response: Response, name: str) -> str | None:
    for header in response.cookies:
        cookie_name, _, rest = header.partition("=")
        if cookie_name.strip() == name:
            return rest.split(";", 1)[0]
    return None


def with_cookie(cookie: str, name: str, value: str | None) -> str:
    """Return the Cookie header ``cookie`` with ``name`` set to ``value``; None leaves it as it is."""
    if value is None:
        return cookie
    pairs = [pair for pair in cookie.split("; ") if pair and not pair.startswith(f"{name}=")]
    return "; ".join([*pairs, f"{name}={value}"])


def open_form(site: LiveSite, path: str = LOGIN_PATH, cookie: str = "") -> tuple[str, str]:
    """GET a page with a form; return the Cookie header with the page's CSRF cookie, and the form's token."""
    response = site.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    assert response.status == 200, f"GET {path} answered {response.status}"
    cookie = with_cookie(cookie, "csrftoken", cookie_value(response, "csrftoken"))
    token = CSRF_TOKEN.search(response.body)
    assert "csrftoken=" in cookie, f"GET {path} set no CSRF cookie"
    assert token, f"GET {path} returned no form with a CSRF token"
    return cookie, token.group(1)


def post_form(site: LiveSite, path: str, fields: dict[str, str], cookie: str, token: str) -> Response:
    body = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": token})
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    return site.request("POST", path, body=body, headers=headers)


def sign_in(site: LiveSite, email: str, password: str) -> str:
    """Sign in through the sign-in form; return the Cookie header of the new session and its CSRF cookie."""
    cookie, token = open_form(site)
    response = post_form(site, LOGIN_PATH, {"login": email, "password": password}, cookie, token)
    session = cookie_value(response, "sessionid")
    assert response.status == 302, f"Signing in as {email} returned {response.status}:\n{response.body}"
    assert session, f"Signing in as {email} set no session cookie"
    # Django gives a signed-in session a new CSRF secret.
    cookie = with_cookie(cookie, "csrftoken", cookie_value(response, "csrftoken"))
    return with_cookie(cookie, "sessionid", session)


def burst(calls: list[Callable[[], T]]) -> list[T]:
    """Run each call in its own thread, all released at the same moment; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[index] = calls[index]()
        except BaseException as error:  # noqa: BLE001 - reported below, in the test's thread.
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=BURST_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), f"Requests still open after {BURST_TIMEOUT} seconds"
    if errors:
        raise errors[0]
    return results


def load(calls: list[Callable[[], T]], clients: int) -> list[T]:
    """Run the calls from ``clients`` threads at once, each client taking the next call when done; keep the order."""
    with ThreadPoolExecutor(max_workers=clients) as executor:
        return list(executor.map(lambda call: call(), calls, timeout=BURST_TIMEOUT))
