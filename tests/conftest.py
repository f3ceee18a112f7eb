import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _clear_cache():
    # Rate-limit counters and allauth's caches live in the cache; a test must
    # not inherit another's.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_user(db):
    from accounts.models import User

    def make(email="user@example.com", password="Correct-Horse-42", role="viewer", **extra):
        return User.objects.create_user(email, password, role=role, **extra)

    return make


@pytest.fixture
def admin_user(make_user):
    return make_user("admin@example.com", role="admin")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client



@pytest.fixture(autouse=True)
def _require_services(request):
    """Skip a test whose service is missing, unless CI requires it.

    CI sets DANGO_REQUIRE_TOOLS=1, so there a missing PostgreSQL or Redis
    fails the test instead of skipping it quietly.
    """
    import os

    from django.conf import settings

    reason = None
    if request.node.get_closest_marker("postgres") and not settings.DATABASES["default"]["ENGINE"].endswith(
        "postgresql"
    ):
        reason = "needs PostgreSQL: set DANGO_TEST_DATABASE_URL"
    elif request.node.get_closest_marker("redis") and not getattr(settings, "REDIS_URL", ""):
        reason = "needs Redis: set DANGO_TEST_REDIS_URL"
    if reason:
        if os.environ.get("DANGO_REQUIRE_TOOLS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
def audit_log(tmp_path, settings):
    """Point the audit log at a fresh file; returns a reader of its records."""
    import json

    path = tmp_path / "logs" / "audit.jsonl"
    settings.AUDIT_LOG_PATH = path
    settings.AUDIT_LOG_FSYNC = False

    class AuditLogReader:
        def __init__(self):
            self.path = path

        def records(self, event=None):
            if not path.exists():
                return []
            rows = [json.loads(line) for line in path.read_text().splitlines()]
            return [row for row in rows if event is None or row["event"] == event]

        def events(self):
            return [row["event"] for row in self.records()]

    return AuditLogReader()
