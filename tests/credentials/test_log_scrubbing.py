"""Planted secrets never reach the output of the project's logging configuration."""

import copy
import io
import logging
import logging.config

import pytest
from django.conf import settings
from django.utils.log import configure_logging

from credentials.log_filters import SecretScrubbingFilter
from dango_site import settings as site_settings

CANARY = "canary-log-secret-5e1f9a"
CANARY_DB_PASSWORD = "canary-db-pass-77aa"


@pytest.fixture
def project_logging(store):
    """Configure logging exactly as the site does, with every handler writing to one buffer."""
    store.set("sources.stripe.api_key", CANARY)
    store.set("destination.postgres.credentials.password", CANARY_DB_PASSWORD)
    buffer = io.StringIO()
    config = copy.deepcopy(site_settings.LOGGING)
    for handler in config["handlers"].values():
        assert handler["class"] == "logging.StreamHandler"
        handler["stream"] = buffer
    logging.config.dictConfig(config)
    yield buffer
    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)


def test_every_site_handler_scrubs():
    """Each handler in the site's LOGGING carries the scrubbing filter."""
    logging_config = site_settings.LOGGING
    assert logging_config["filters"]["scrub_secrets"]["()"] == "credentials.log_filters.SecretScrubbingFilter"
    assert logging_config["handlers"]
    for name, handler in logging_config["handlers"].items():
        assert "scrub_secrets" in handler.get("filters", []), f"handler {name} lacks the scrub_secrets filter"


def test_configured_handlers_have_the_filter(project_logging):
    """After configuration the live root and django handlers run the filter."""
    for logger_name in ("", "django", "django.server"):
        # pytest adds its own capture handler to the root logger; look at the site's only.
        handlers = [h for h in logging.getLogger(logger_name).handlers if getattr(h, "stream", None) is project_logging]
        assert handlers
        for handler in handlers:
            assert any(isinstance(f, SecretScrubbingFilter) for f in handler.filters)


def test_store_values_scrubbed_from_messages_and_arguments(project_logging):
    """Store values disappear from messages, %-arguments, dict arguments and split formats."""
    logger = logging.getLogger("credentials.test")
    logger.warning("key is %s", CANARY)
    logger.warning(f"inline {CANARY}")
    logger.warning("mapping %(key)s", {"key": CANARY})
    logger.warning("Bearer %s", "ya29canarytoken123")
    logger.warning("connecting to postgres://loader:%s@db/dango", CANARY_DB_PASSWORD)
    output = project_logging.getvalue()
    assert CANARY not in output
    assert CANARY_DB_PASSWORD not in output
    assert "ya29canarytoken123" not in output
    assert output.count("••••") >= 5


def test_tracebacks_scrubbed(project_logging):
    """A secret in an exception message is masked in the logged traceback."""
    logger = logging.getLogger("credentials.test")
    try:
        raise ValueError(f"provider rejected {CANARY}")
    except ValueError:
        logger.exception("request failed")
    output = project_logging.getvalue()
    assert "Traceback" in output
    assert "ValueError: provider rejected ••••9a" in output or "ValueError: provider rejected ••••" in output
    assert CANARY not in output


def test_django_request_and_server_lines_scrubbed(project_logging):
    """Request paths with tokens are masked on the django and django.server loggers."""
    logging.getLogger("django.request").error("Internal Server Error: /cb?state=1&token=canary-query-token")
    logging.getLogger("django.server").info(
        '"%s" %s %s', "GET /cb?password=canary-server-pass HTTP/1.1", "200", "15", extra={"status_code": 200}
    )
    output = project_logging.getvalue()
    assert "canary-query-token" not in output
    assert "canary-server-pass" not in output
    assert "/cb?state=1&token=••••" in output


def test_new_store_value_scrubbed_at_once(project_logging, store):
    """A value written after logging started is masked in the very next record."""
    logger = logging.getLogger("credentials.test")
    store.set("sources.hubspot.api_key", "canary-brand-new-value")
    logger.warning("hubspot key canary-brand-new-value")
    assert "canary-brand-new-value" not in project_logging.getvalue()


def test_failed_scrubbing_withholds_the_message():
    """If the message cannot be rendered for scrubbing, the record states that instead of showing it."""

    class Unprintable:
        def __str__(self):
            raise RuntimeError(CANARY)

    record = logging.LogRecord("x", logging.WARNING, __file__, 1, Unprintable(), (), None)
    assert SecretScrubbingFilter().filter(record) is True
    assert record.getMessage() == "[log message withheld: scrubbing secrets failed with RuntimeError]"


def test_mismatched_arguments_still_scrubbed(store):
    """A record whose arguments do not fit its format is shown unformatted, secrets masked."""
    store.set("sources.stripe.api_key", CANARY)
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "one %s two %s", (CANARY,), None)
    SecretScrubbingFilter().filter(record)
    assert CANARY not in record.getMessage()
    assert "one %s two %s" in record.getMessage()
