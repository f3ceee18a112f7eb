"""Settings of the gunicorn workers of the scale tests: the test settings plus the counting hasher.

The hasher counts only while DANGO_TEST_HASHER_LOG names a file; the scale
site sets it, so the tests can count password checks across processes.
"""

from tests.accounts.bruteforce.counting_hasher import with_counting_hasher
from tests.settings import *  # noqa: F401,F403
from tests.settings import PASSWORD_HASHERS

PASSWORD_HASHERS = with_counting_hasher(PASSWORD_HASHERS)

# Warnings and errors, with their tracebacks, go to the server log, where the fixture looks for tracebacks.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}
