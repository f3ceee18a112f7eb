"""Planted secrets never appear in Django's error pages and reports."""

import pytest
from django.conf import settings
from django.test import Client, RequestFactory, override_settings
from django.views.debug import ExceptionReporter, get_exception_reporter_class, get_exception_reporter_filter

from credentials.error_reports import SecretScrubbingExceptionReporter, SecretScrubbingExceptionReporterFilter

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.credentials.error_urls")]

CANARY = "canary-stripe-key-&<'quoted'>-91c4"
ESCAPED_CANARY = "canary-stripe-key-&amp;&lt;&#x27;quoted&#x27;&gt;-91c4"


@pytest.fixture
def planted(store):
    store.set("sources.stripe.api_key", CANARY)
    return CANARY


@pytest.fixture
def debug_client(planted):
    with override_settings(DEBUG=True):
        yield Client(raise_request_exception=False)


def assert_clean(text: str) -> None:
    for form in (CANARY, ESCAPED_CANARY, "canary-stripe-key", "canary-query", "canary-post", "canary-bearer"):
        assert form not in text, f"{form!r} leaked"


def test_site_uses_the_scrubbing_reporter():
    """The site's settings select the scrubbing filter and reporter."""
    request = RequestFactory().get("/")
    assert isinstance(get_exception_reporter_filter(request), SecretScrubbingExceptionReporterFilter)
    assert get_exception_reporter_class(request) is SecretScrubbingExceptionReporter
    assert settings.DEFAULT_EXCEPTION_REPORTER_FILTER == "credentials.error_reports.SecretScrubbingExceptionReporterFilter"


def test_debug_page_hides_secret_in_exception_message(debug_client):
    """The debug page masks a store value quoted in the exception message."""
    response = debug_client.get("/fail/message/", HTTP_ACCEPT="text/html")
    assert response.status_code == 500
    text = response.content.decode()
    assert "Stripe rejected the key" in text
    assert_clean(text)
    assert "••••" in text


def test_debug_page_hides_secret_in_variables(debug_client):
    """Frame variables holding a secret, or text containing one, are masked."""
    response = debug_client.get("/fail/variable/", HTTP_ACCEPT="text/html")
    assert response.status_code == 500
    text = response.content.decode()
    assert "connection_url" in text
    assert_clean(text)


def test_debug_page_hides_request_secrets(debug_client):
    """Query parameters, POST fields and the Authorization header with secret names are masked."""
    response = debug_client.post(
        "/fail/message/?state=ok&access_token=canary-query-token",
        {"password": "canary-post-password", "note": "visible-note"},
        HTTP_ACCEPT="text/html",
        HTTP_AUTHORIZATION="Bearer canary-bearer-token-1",
    )
    assert response.status_code == 500
    text = response.content.decode()
    assert_clean(text)
    assert "visible-note" in text


def test_plain_text_report_scrubbed(debug_client):
    """The plain-text report (sent to non-browser clients and in e-mails) is scrubbed too."""
    response = debug_client.get("/fail/message/?token=canary-query-token", HTTP_ACCEPT="text/plain")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/plain")
    assert_clean(response.content.decode())


def test_production_error_page_shows_nothing(planted):
    """Without DEBUG the generic 500 page is served, with no details."""
    response = Client(raise_request_exception=False).get("/fail/message/")
    assert response.status_code == 500
    assert_clean(response.content.decode())
    assert "Stripe rejected" not in response.content.decode()


def test_reporter_text_for_emails(planted):
    """The report built for error e-mails contains no secret."""
    request = RequestFactory().get("/fail/?secret=canary-query-secret")
    try:
        raise ValueError(f"rejected {planted}")
    except ValueError as error:
        reporter = SecretScrubbingExceptionReporter(request, type(error), error, error.__traceback__, is_email=True)
        text = reporter.get_traceback_text()
        html = reporter.get_traceback_html()
    assert_clean(text)
    assert_clean(html)
    assert "canary-query-secret" not in text
    assert issubclass(SecretScrubbingExceptionReporter, ExceptionReporter)
