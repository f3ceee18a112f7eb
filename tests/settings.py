"""Settings for the test suite: the real stack with a throwaway project folder.

The project folder (secret key, SQLite database, audit log, .dlt) lives in a
fresh temporary directory per test run unless DANGO_PROJECT_ROOT is set.
DANGO_TEST_DATABASE_URL and DANGO_TEST_REDIS_URL switch the suite onto
PostgreSQL and Redis.
"""

import os
import socket
import tempfile

if "DANGO_PROJECT_ROOT" not in os.environ:
    os.environ["DANGO_PROJECT_ROOT"] = tempfile.mkdtemp(prefix="dango-test-")
if os.environ.get("DANGO_TEST_DATABASE_URL"):
    os.environ["DATABASE_URL"] = os.environ["DANGO_TEST_DATABASE_URL"]
if os.environ.get("DANGO_TEST_REDIS_URL"):
    _redis_url = os.environ["DANGO_TEST_REDIS_URL"]
    _worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if _worker.startswith("gw"):
        # Each test clears the cache, and Redis clears a whole database, so
        # every pytest-xdist worker gets its own database number after the
        # configured one.
        from urllib.parse import urlsplit, urlunsplit

        _parts = urlsplit(_redis_url)
        _base = int(_parts.path.strip("/") or 0)
        _redis_url = urlunsplit(_parts._replace(path=f"/{_base + 1 + int(_worker[2:])}"))
    os.environ["REDIS_URL"] = _redis_url

# Google and GitHub point at the fake provider that tests/accounts/onboarding
# serves on this port. allauth reads these URLs when it imports a provider,
# so they are fixed here for the whole run. Client ids from the developer's
# own environment are dropped: each test configures the providers it needs.
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


DANGO_TEST_OAUTH_PORT = int(os.environ.get("DANGO_TEST_OAUTH_PORT") or _free_port())
os.environ["DANGO_GOOGLE_BASE_URL"] = f"http://127.0.0.1:{DANGO_TEST_OAUTH_PORT}/google"
os.environ["DANGO_GITHUB_URL"] = f"http://127.0.0.1:{DANGO_TEST_OAUTH_PORT}/github"
for _name in ("DANGO_GOOGLE_CLIENT_ID", "DANGO_GOOGLE_CLIENT_SECRET", "DANGO_GITHUB_CLIENT_ID",
              "DANGO_GITHUB_CLIENT_SECRET", "DANGO_SITE_URL"):
    os.environ.pop(_name, None)

from dango_site.settings import *  # noqa: E402,F401,F403
from dango_site.settings import PASSWORD_HASHERS  # noqa: E402

# Argon2 stays first so hashing is exercised as in production, with a small
# memory cost so the suite runs in minutes.
PASSWORD_HASHERS = ["tests.hashers.FastArgon2PasswordHasher", *PASSWORD_HASHERS]

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING = {"version": 1, "disable_existing_loggers": False}

# allauth's dummy provider runs a real social sign-in without any HTTP.
INSTALLED_APPS = [*INSTALLED_APPS, "allauth.socialaccount.providers.dummy"]  # noqa: F405

if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not SQLite's shared in-memory database: tests that run two
    # threads against the database need real locking between connections.
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(os.environ["DANGO_PROJECT_ROOT"], "test.sqlite3")}  # noqa: F405
