"""The scaled deployment: gunicorn with 4 worker processes on PostgreSQL and Redis, started once per test session.

The site gets its own PostgreSQL database, named after the test database
with ``_scale`` added, which the fixture creates, migrates and drops. Redis
is the test run's own (DANGO_TEST_REDIS_URL): the site's cache, rate limits
and cached_db sessions live there. The test process reads results over
HTTP, from the site's audit log, from the counting hasher's log and with
``manage.py``.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

from tests.e2e.live_site import LiveSite

WORKERS = 4
THREADS = 8
# Sign-in attempts of the account under attack count only toward that account's lockout:
# every request comes from 127.0.0.1, whose per-address limit (30 in 5 minutes) has its own tests.
SIGN_IN_IP_LIMIT = 100_000
API_KEY_RATE_LIMIT = 50
API_KEY_RATE_WINDOW = 3600  # seconds; long, so that a burst rarely spans two windows
# Small enough that the audit log rotates several times while the workers write it.
AUDIT_LOG_MAX_BYTES = 64 * 1024
PASSWORD = "Correct-Horse-42"


def skip_or_fail(reason: str) -> None:
    # As tests.conftest does for each test: CI requires the services, elsewhere they are optional.
    if os.environ.get("DANGO_REQUIRE_TOOLS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def postgres_url(database: dict, name: str) -> str:
    credentials = quote(database["USER"])
    if database["PASSWORD"]:
        credentials += ":" + quote(database["PASSWORD"])
    return f"postgres://{credentials}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{quote(name)}"


@pytest.fixture(scope="session")
def scale_database():
    """Create an empty PostgreSQL database for the scale site; return its URL; drop it afterwards."""
    database = settings.DATABASES["default"]
    if not database["ENGINE"].endswith("postgresql"):
        skip_or_fail("needs PostgreSQL: set DANGO_TEST_DATABASE_URL")
    if not getattr(settings, "REDIS_URL", ""):
        skip_or_fail("needs Redis: set DANGO_TEST_REDIS_URL")
    import psycopg

    name = f"{database['NAME']}_scale"
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        name = f"{name}_{worker}"
    assert re.fullmatch(r"[A-Za-z0-9_]+", name), f"Unexpected database name {name!r}"
    connection_kwargs = {
        "host": database["HOST"] or "127.0.0.1",
        "port": database["PORT"] or 5432,
        "user": database["USER"],
        "password": database["PASSWORD"] or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**connection_kwargs) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url(database, name)
    finally:
        with psycopg.connect(**connection_kwargs) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def scale_site(scale_database, tmp_path_factory):
    """gunicorn with 4 workers serving a migrated PostgreSQL database, with Redis for cache and sessions."""
    project_root = tmp_path_factory.mktemp("scale-site")
    site = LiveSite(
        project_root,
        settings_module="tests.scale.server_settings",
        workers=WORKERS,
        threads=THREADS,
        environment={
            "DATABASE_URL": scale_database,
            "REDIS_URL": settings.REDIS_URL,
            "DANGO_TEST_HASHER_LOG": str(project_root / "hasher.log"),
            "DANGO_SIGN_IN_IP_LIMIT": str(SIGN_IN_IP_LIMIT),
            "DANGO_API_KEY_RATE_LIMIT": str(API_KEY_RATE_LIMIT),
            "DANGO_API_KEY_RATE_WINDOW": str(API_KEY_RATE_WINDOW),
            "DANGO_AUDIT_LOG_MAX_BYTES": str(AUDIT_LOG_MAX_BYTES),
        },
    )
    site.manage("migrate", "--noinput")
    site.hasher_log = Path(site.environment["DANGO_TEST_HASHER_LOG"])
    with site:
        assert len(site.worker_pids()) == WORKERS
        yield site
    assert "Traceback" not in site.server_log(), f"The scale site logged an error:\n{site.server_log()}"


@pytest.fixture
def create_user(scale_site):
    """Return a function that creates a user on the scale site with PASSWORD and returns the email."""

    def create(email: str, role: str = "viewer") -> str:
        # manage.py users create gives a one-time password that must be changed first, so the shell sets one.
        scale_site.manage(
            "shell", "-c",
            f"from accounts.models import User; User.objects.create_user({email!r}, {PASSWORD!r}, role={role!r})",
        )
        return email

    return create


@dataclass(frozen=True)
class CreatedKey:
    id: int
    raw: str


@pytest.fixture
def create_api_key(scale_site):
    """Return a function that creates an API key with ``manage.py apikeys create``; it returns the id and raw key."""

    def create(email: str, name: str) -> CreatedKey:
        output = scale_site.manage("apikeys", "create", email, "--name", name).stdout
        created = re.search(r"^Created API key (\d+) ", output, re.MULTILINE)
        assert created, f"manage.py apikeys create printed no key id:\n{output}"
        return CreatedKey(id=int(created.group(1)), raw=output.strip().splitlines()[-1])

    return create
