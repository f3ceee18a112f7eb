"""Time per request through the site's whole middleware stack against a bare Django view, in one run.

Requests go straight to Django's WSGI handler in this process, as gunicorn
calls it (no network, no test client), with the production settings on a
fresh project folder. The database and cache are SQLite and local memory by
default, or the PostgreSQL database and Redis given on the command line;
that database must be empty, and the benchmark migrates it. Two handlers
are built: one with the site's MIDDLEWARE and one with none. Each kind of
request below runs in every round, in alternating order, so a machine that
slows down during the run slows every kind alike; the medians of the
rounds are compared.

    bare view, no middleware              the floor: URL resolution and a plain response
    one query, no middleware              the floor plus SELECT 1, the cost of reaching the database
    bare view, full stack, anonymous      every middleware, no session
    bare view, full stack, session        every middleware with a signed-in session cookie
    API view, no middleware, API key      Bearer key lookup, per-key rate limit, JSON response
    API view, full stack, API key         the same through every middleware

The bare and API views are in bench/overhead_urls.py.

Usage: python bench/middleware_overhead.py [--requests 300] [--rounds 7]
                                          [--database-url postgres://…] [--redis-url redis://…]
"""

import argparse
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
PASSWORD = "Correct-Horse-Battery-42"


def set_up_django(project_root: str, database_url: str | None, redis_url: str | None) -> None:
    os.environ["DANGO_PROJECT_ROOT"] = project_root
    os.environ["DJANGO_SETTINGS_MODULE"] = "dango_site.settings"
    os.environ["DANGO_LOG_LEVEL"] = "WARNING"
    # A limit this high never stops the benchmark, but the limiter still counts every request.
    os.environ["DANGO_API_KEY_RATE_LIMIT"] = str(10**9)
    for name, value in (("DATABASE_URL", database_url), ("REDIS_URL", redis_url)):
        if value:
            os.environ[name] = value
        else:
            os.environ.pop(name, None)
    sys.path.insert(0, str(REPOSITORY))

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def environ(path: str, **headers: str) -> dict:
    """Return the WSGI environ of a GET from 127.0.0.1, as gunicorn builds it."""
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) bench",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        **headers,
    }


def call(handler, path: str, headers: dict) -> None:
    statuses = []
    response = handler(environ(path, **headers), lambda status, response_headers, exc_info=None: statuses.append(status))
    try:
        for _ in response:
            pass
    finally:
        response.close()
    if not statuses[0].startswith("200"):
        raise SystemExit(f"GET {path} returned {statuses[0]}; the benchmark needs 200.")


def microseconds_per_request(handler, path: str, headers: dict, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        call(handler, path, headers)
    return (time.perf_counter() - started) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per kind per round (default 300)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds of every kind (default 7)")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite in a temporary folder)")
    parser.add_argument("--redis-url", help="Redis for the cache and cached_db sessions (default: local memory)")
    options = parser.parse_args()
    if options.requests < 1 or options.rounds < 1:
        parser.error("--requests and --rounds must be at least 1")

    with tempfile.TemporaryDirectory(prefix="dango-bench-") as project_root:
        set_up_django(project_root, options.database_url, options.redis_url)

        from django.conf import settings
        from django.core.handlers.wsgi import WSGIHandler
        from django.test import Client, override_settings

        from accounts.apikeys.operations import create_api_key
        from accounts.models import User

        if User.objects.exists():
            raise SystemExit("The database already has users; give the benchmark an empty database.")
        backend = "PostgreSQL" if settings.DATABASES["default"]["ENGINE"].endswith("postgresql") else "SQLite"
        cache = "Redis" if settings.REDIS_URL else "local-memory cache"

        with override_settings(ROOT_URLCONF="bench.overhead_urls", AUDIT_LOG_FSYNC=False):
            full_stack = WSGIHandler()
            with override_settings(MIDDLEWARE=[]):
                no_middleware = WSGIHandler()

            user = User.objects.create_user("bench@example.com", PASSWORD, role="viewer")
            raw_key = create_api_key(user, "bench").raw
            session_client = Client(HTTP_HOST="127.0.0.1")
            session_client.force_login(user)
            session_cookie = f"{settings.SESSION_COOKIE_NAME}={session_client.cookies[settings.SESSION_COOKIE_NAME].value}"
            bearer = f"Bearer {raw_key}"

            kinds = {
                "bare view, no middleware": (no_middleware, "/bench/bare", {}),
                "one query, no middleware": (no_middleware, "/bench/query", {}),
                "bare view, full stack, anonymous": (full_stack, "/bench/bare", {}),
                "bare view, full stack, session": (full_stack, "/bench/bare", {"HTTP_COOKIE": session_cookie}),
                "API view, no middleware, API key": (no_middleware, "/bench/api", {"HTTP_AUTHORIZATION": bearer}),
                "API view, full stack, API key": (full_stack, "/bench/api", {"HTTP_AUTHORIZATION": bearer}),
            }
            for handler, path, headers in kinds.values():
                microseconds_per_request(handler, path, headers, min(50, options.requests))  # warm-up

            timings = {name: [] for name in kinds}
            for round_number in range(options.rounds):
                order = list(kinds) if round_number % 2 == 0 else list(reversed(kinds))
                for name in order:
                    timings[name].append(microseconds_per_request(*kinds[name], options.requests))

    medians = {name: statistics.median(values) for name, values in timings.items()}
    floor = medians["bare view, no middleware"]
    print(f"GET per request, {options.rounds} rounds x {options.requests} requests per kind, "
          f"WSGI handler in process, {backend}, {cache}")
    print(f"Python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs")
    print(f"{'kind':36} {'median us':>10} {'x bare':>7}   rounds (us)")
    for name, values in timings.items():
        rounds = ", ".join(f"{value:.0f}" for value in values)
        print(f"{name:36} {medians[name]:10.0f} {medians[name] / floor:7.2f}   {rounds}")
    print("Middleware overhead (full stack minus the same view without middleware):")
    for label, full, bare in [
        ("anonymous", "bare view, full stack, anonymous", "bare view, no middleware"),
        ("session cookie", "bare view, full stack, session", "bare view, no middleware"),
        ("API key", "API view, full stack, API key", "API view, no middleware, API key"),
    ]:
        print(f"  {label:15} +{medians[full] - medians[bare]:6.0f} us per request  "
              f"(full / without middleware = {medians[full] / medians[bare]:.2f})")


if __name__ == "__main__":
    main()
