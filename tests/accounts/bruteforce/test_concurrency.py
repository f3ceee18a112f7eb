"""Fifty simultaneous wrong sign-ins against gunicorn with several worker processes.

Each attempt uses its own wrong password, and the counting hasher writes one
line per hash, so the number of distinct passwords in its log is the number
of attempts whose password was checked.
"""

import json
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from accounts.bruteforce.models import SignInCounter
from tests.accounts.bruteforce.counting_hasher import password_digest
from tests.accounts.bruteforce.live_server import GunicornServer, burst_sign_ins, run_django, server_environment

ATTEMPTS = 50
LIMIT = 5
PASSWORD = "Correct-Horse-42"

# Otherwise the per-IP sign-in limit would reject most of the burst before it
# reaches the pair lockout. That limit has its own tests.
HIGH_IP_LIMIT = {"DANGO_SIGN_IN_IP_LIMIT": "100000"}


def checked_passwords(hasher_log: Path, passwords: list[str]) -> int:
    lines = set(hasher_log.read_text().splitlines()) if hasher_log.exists() else set()
    return sum(password_digest(password) in lines for password in passwords)


def audit_events(project_root: Path) -> Counter:
    path = project_root / ".dango" / "logs" / "audit.jsonl"
    if not path.exists():
        return Counter()
    return Counter(json.loads(line)["event"] for line in path.read_text().splitlines())


def assert_burst_checks_at_most_limit(server: GunicornServer, hasher_log: Path, email: str) -> None:
    passwords = [f"wrong-{email}-{i}" for i in range(ATTEMPTS)]
    result = burst_sign_ins(server, email, passwords)

    assert checked_passwords(hasher_log, passwords) == LIMIT
    # Four checked failures get the form again; the fifth and every rejected attempt get the lockout.
    assert Counter(result.statuses) == {200: LIMIT - 1, 429: ATTEMPTS - LIMIT + 1}
    assert all(value is not None and int(value) > 0 for status, value in zip(result.statuses, result.retry_after)
               if status == 429)


def run_bursts(server: GunicornServer, hasher_log: Path, project_root: Path) -> None:
    before = audit_events(project_root)
    assert_burst_checks_at_most_limit(server, hasher_log, "alice@example.com")
    assert_burst_checks_at_most_limit(server, hasher_log, "nobody@example.com")
    events = audit_events(project_root) - before
    assert events["account_locked"] == 2
    assert events["login_failure"] == 2 * ATTEMPTS

    # The lock holds against the right password from the same address.
    cookie, token = server.csrf()
    status, _, _ = server.request(
        "POST",
        "/accounts/login/",
        body=f"login=alice%40example.com&password={quote(PASSWORD)}&csrfmiddlewaretoken={token}",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    assert status == 429


def test_burst_on_sqlite_checks_at_most_limit(tmp_path):
    """On SQLite shared by three worker processes, 50 simultaneous wrong sign-ins check at most 5 passwords."""
    project_root = tmp_path / "project"
    hasher_log = tmp_path / "hasher.log"
    environment = server_environment(project_root, hasher_log, **HIGH_IP_LIMIT)
    for name in ("DATABASE_URL", "DANGO_TEST_DATABASE_URL", "REDIS_URL", "DANGO_TEST_REDIS_URL"):
        environment.pop(name, None)
    run_django(environment, "migrate", "--noinput")
    run_django(
        environment, "shell", "-c",
        f"from accounts.models import User; User.objects.create_user('alice@example.com', {PASSWORD!r})",
    )

    with GunicornServer(environment, workers=3) as server:
        run_bursts(server, hasher_log, project_root)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_burst_on_postgres_checks_at_most_limit(tmp_path, make_user):
    """On PostgreSQL with three worker processes, 50 simultaneous wrong sign-ins check at most 5 passwords."""
    make_user("alice@example.com", password=PASSWORD)
    database = connection.settings_dict
    url = (
        f"postgres://{quote(database['USER'])}:{quote(database['PASSWORD'] or '')}"
        f"@{database['HOST']}:{database['PORT'] or 5432}/{quote(database['NAME'])}"
    )
    project_root = tmp_path / "project"
    hasher_log = tmp_path / "hasher.log"
    environment = server_environment(project_root, hasher_log, DANGO_TEST_DATABASE_URL=url, **HIGH_IP_LIMIT)

    with GunicornServer(environment, workers=3) as server:
        run_bursts(server, hasher_log, project_root)

    counter = SignInCounter.objects.get(identifier="alice@example.com")
    assert (counter.failures, counter.pending) == (LIMIT, 0)
    assert counter.locked_until is not None
