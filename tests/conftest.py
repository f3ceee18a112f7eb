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

    CI sets DANGO_REQUIRE_TOOLS=1, so there a missing PostgreSQL, Redis or
    host tool fails the test instead of skipping it quietly. Host tools are
    named in the marker, ``@pytest.mark.tools("sshd", "caddy")``; a name that
    starts with "/" is a path that must exist (``/run/sshd``).
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
    tools = request.node.get_closest_marker("tools")
    if reason is None and tools is not None:
        missing = [name for name in tools.args if find_host_tool(name) is None]
        if missing:
            reason = f"needs {', '.join(missing)}: install the Debian packages (.ci/run does)"
    if reason:
        if os.environ.get("DANGO_REQUIRE_TOOLS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
