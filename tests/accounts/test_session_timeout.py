from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.urls import reverse

from accounts.models import UserSession
from tests.accounts.helpers import record_signals, sign_in

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
BACKGROUND = {"HTTP_X_DANGO_BACKGROUND": "1"}
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def user(make_user):
    return make_user("alice@example.com", role="viewer")


@pytest.fixture
def browser(clock, user):
    client = Client()
    assert sign_in(client, "alice@example.com").status_code == 302
    return client


def home(client, **headers):
    return client.get(reverse("home"), **headers)


def at(clock, **delta):
    clock.move_to(START + timedelta(**delta))


def test_defaults_are_60_minutes_and_30_days(settings):
    """The shipped idle timeout is 60 minutes and the absolute lifetime 30 days."""
    assert settings.DANGO_SESSION_IDLE_TIMEOUT == 60 * 60
    assert settings.DANGO_SESSION_ABSOLUTE_TIMEOUT == 30 * 24 * 60 * 60


def test_idle_session_expires(clock, browser):
    """A session unused for the idle timeout is signed out and sent to the login page."""
    at(clock, minutes=59)
    assert home(browser).status_code == 200
    at(clock, minutes=59 + 60)
    response = home(browser)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"
    assert home(browser).status_code == 302


def test_activity_extends_idle_session(clock, browser):
    """Each ordinary request restarts the idle clock."""
    for minutes in (50, 100, 150, 200):
        at(clock, minutes=minutes)
        assert home(browser).status_code == 200


def test_background_requests_do_not_extend_session(clock, browser):
    """Requests marked X-Dango-Background are answered but do not count as activity."""
    for minutes in (10, 30, 50):
        at(clock, minutes=minutes)
        assert home(browser, **BACKGROUND).status_code == 200
    at(clock, minutes=60)
    assert home(browser).status_code == 302


def test_background_request_sees_expiry(clock, browser):
    """A background request after the idle timeout gets the JSON expiry answer."""
    at(clock, minutes=61)
    response = home(browser, **BACKGROUND, **JSON)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "session_expired"


def test_background_header_other_values_count_as_activity(clock, browser):
    """Only the exact value 1 marks a request as background."""
    at(clock, minutes=50)
    home(browser, HTTP_X_DANGO_BACKGROUND="0")
    at(clock, minutes=100)
    assert home(browser).status_code == 200


@override_settings(DANGO_SESSION_ABSOLUTE_TIMEOUT=4 * 60 * 60)
def test_absolute_lifetime_ends_active_session(clock, browser):
    """A session in constant use still ends at the absolute lifetime."""
    for minutes in range(30, 240, 30):
        at(clock, minutes=minutes)
        assert home(browser).status_code == 200
    at(clock, minutes=240)
    assert home(browser).status_code == 302


def test_default_absolute_lifetime_is_enforced(clock, browser, settings):
    """With the idle timeout off, the session still ends 30 days after sign-in."""
    settings.DANGO_SESSION_IDLE_TIMEOUT = 0
    at(clock, days=29, hours=23)
    assert home(browser).status_code == 200
    at(clock, days=30)
    assert home(browser).status_code == 302


def test_expiry_shows_message_on_login_page(clock, browser):
    """After an expiry the login page tells the user why they were signed out."""
    at(clock, minutes=61)
    response = home(browser)
    page = browser.get(response["Location"])
    assert page.status_code == 200
    assert "Your session expired" in page.content.decode()


def test_expiry_json_answer(clock, browser):
    """A JSON client gets 401 with the code session_expired."""
    at(clock, minutes=61)
    response = home(browser, **JSON)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "session_expired"


@pytest.mark.parametrize("delta,reason", [({"minutes": 61}, "idle"), ({"days": 31}, "absolute")])
def test_expiry_signal_and_session_row(clock, browser, user, delta, reason, settings):
    """An expiry sends session_expired once with its reason, sends no logout, and closes the row."""
    if reason == "absolute":
        settings.DANGO_SESSION_IDLE_TIMEOUT = 0
        # Keep the store's own expiry from ending the session first.
        at(clock, days=29)
        home(browser)
    session_key = browser.session.session_key
    at(clock, **delta)
    with record_signals() as log:
        home(browser)
    event = log.only("session_expired")
    assert event["reason"] == reason
    assert event["user"] == user
    assert log.count("logout") == 0
    row = UserSession.objects.get(user=user)
    assert row.end_reason == reason
    assert row.ended_at is not None
    assert not Session.objects.filter(session_key=session_key).exists()


def test_last_seen_follows_activity(clock, browser, user):
    """An ordinary request moves the session's last-seen time; a background one does not."""
    at(clock, minutes=20)
    home(browser)
    assert UserSession.objects.get(user=user).last_seen_at == START + timedelta(minutes=20)
    at(clock, minutes=40)
    home(browser, **BACKGROUND)
    assert UserSession.objects.get(user=user).last_seen_at == START + timedelta(minutes=20)


@override_settings(DANGO_SESSION_IDLE_TIMEOUT=15 * 60)
def test_idle_timeout_setting_is_read_at_request_time(clock, browser):
    """A shorter idle timeout applies to sessions already signed in."""
    at(clock, minutes=16)
    assert home(browser).status_code == 302
