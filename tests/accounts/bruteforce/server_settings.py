"""Settings for the gunicorn servers of the concurrency tests: the test settings plus the counting hasher."""

from tests.accounts.bruteforce.counting_hasher import with_counting_hasher
from tests.settings import *  # noqa: F401,F403
from tests.settings import PASSWORD_HASHERS

PASSWORD_HASHERS = with_counting_hasher(PASSWORD_HASHERS)
