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
def admin_client(client, admin_user, verified_login):
    # By default every Admin must use two-factor authentication, and user
    # admin pages ask for recent re-authentication, so the Admin client has both.
    verified_login(client, admin_user)
    return client



def find_host_tool(name: str) -> str | None:
    """Return the path of a host program (also searched in the sbin folders), or of an existing absolute path."""
    import os
    import shutil

    if name.startswith("/"):
        return name if os.path.exists(name) else None
    return shutil.which(name) or shutil.which(name, path="/usr/local/sbin:/usr/sbin:/sbin")


@pytest.fixture
def host_tool():
    """Return the path of a host program named in the test's tools marker."""

    def find(name: str) -> str:
        path = find_host_tool(name)
        assert path is not None, f"{name} is missing; name it in @pytest.mark.tools(...)"
        return path

    return find


@pytest.fixture(autouse=True)
def _require_services(request):
    """Skip a test whose service or host tool is missing, unless CI requires it.

    CI sets DANGO_REQUIRE_TOOLS=1, so there a missing PostgreSQL, Redis,
    browser or host tool fails the test instead of skipping it quietly. Host
    tools are named in the marker, ``@pytest.mark.tools("sshd", "caddy")``; a
    name that starts with "/" is a path that must exist (``/run/sshd``).
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
    elif request.node.get_closest_marker("browser"):
        reason = browser_missing()
    tools = request.node.get_closest_marker("tools")
    if reason is None and tools is not None:
        missing = [name for name in tools.args if find_host_tool(name) is None]
        if missing:
            reason = f"needs {', '.join(missing)}: install the Debian packages (.ci/run does)"
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


CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium_path() -> str | None:
    import os

    return next((path for path in CHROMIUM_PATHS if os.access(path, os.X_OK)), None)


def browser_missing() -> str | None:
    """Return why a browser test cannot run here, or None when it can."""
    import importlib.util

    if importlib.util.find_spec("playwright") is None:
        return "needs Playwright for Python: pip install playwright"
    if chromium_path() is None:
        return "needs Chromium: install the chromium package"
    return None


@pytest.fixture
def verified_login():
    """Return a function that signs a test client in as a user who passed the second factor.

    The user gets a confirmed TOTP device if they have none, and the session
    is marked as verified by it and, unless told otherwise, as freshly
    re-authenticated: what a real sign-in followed by the re-authentication
    page leaves behind.
    """
    import time

    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.reauth import REAUTHENTICATED_AT_KEY

    def login(client, user, reauthenticated=True):
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="Test device", confirmed=True)
        client.force_login(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        if reauthenticated:
            session[REAUTHENTICATED_AT_KEY] = int(time.time())
        session.save()
        return device

    return login
