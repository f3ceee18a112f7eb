"""Database queries per authenticated request: session cookie, API key and the admin's user list, in one run.

Each request goes through the whole stack in this process (Django's test
client) with the production settings on a fresh SQLite project folder.
Every user signs in through the real sign-in form; the Admin also passes
the TOTP step with a code computed from the device's key. The first
request of a kind can write state (the session's sign-in time, the API
key's last use), so the first request and the repeated ones are shown
apart. The admin's user list is counted with 10 and with 100 users, which
shows whether its queries grow with the number of rows.

Usage: python bench/query_counts.py [--repeat 5] [--show-sql]
"""

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
PASSWORD = "Correct-Horse-Battery-42"
SMALL_LIST, LARGE_LIST = 10, 100


def set_up_django(project_root: str) -> None:
    os.environ["DANGO_PROJECT_ROOT"] = project_root
    os.environ["DJANGO_SETTINGS_MODULE"] = "dango_site.settings"
    os.environ["DANGO_LOG_LEVEL"] = "WARNING"
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(REPOSITORY))

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def totp_code(device) -> str:
    """Return the device's current code, as the user's authenticator app shows it."""
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{totp.token():0{device.digits}d}"


def sign_in(client, email: str, device=None) -> None:
    response = client.post("/accounts/login/", {"login": email, "password": PASSWORD})
    if device is not None:
        response = client.post("/login/two-factor/", {"code": totp_code(device)})
    if response.status_code != 302 or response["Location"] != "/":
        raise SystemExit(f"Signing in as {email} returned {response.status_code}; the benchmark needs a sign-in.")


def count_queries(send, repeat: int) -> tuple[int, list[int], list[str]]:
    """Send the request ``1 + repeat`` times; return the first count, the repeated counts and the last SQL."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts, statements = [], []
    for _ in range(1 + repeat):
        with CaptureQueriesContext(connection) as captured:
            response = send()
        if response.status_code != 200:
            raise SystemExit(f"A benchmark request returned {response.status_code}; it needs 200.")
        counts.append(len(captured.captured_queries))
        statements = [query["sql"] for query in captured.captured_queries]
    return counts[0], counts[1:], statements


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="requests counted after the first (default 5)")
    parser.add_argument("--show-sql", action="store_true", help="print the SQL of each kind's last request")
    options = parser.parse_args()
    if options.repeat < 1:
        parser.error("--repeat must be at least 1")

    with tempfile.TemporaryDirectory(prefix="dango-bench-") as project_root:
        set_up_django(project_root)

        from django.test import Client, override_settings
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from accounts.apikeys.operations import create_api_key
        from accounts.models import User

        with override_settings(AUDIT_LOG_FSYNC=False):
            viewer = User.objects.create_user("viewer@example.com", PASSWORD, role="viewer")
            admin = User.objects.create_user("admin@example.com", PASSWORD, role="admin")
            device = TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
            raw_key = create_api_key(viewer, "bench").raw
            for number in range(SMALL_LIST - 2):
                # Without a password, because hashing a hundred with production Argon2 takes a minute.
                User.objects.create_user(f"user{number}@example.com", None, role="editor")

            session_client = Client(HTTP_HOST="127.0.0.1")
            sign_in(session_client, viewer.email)
            key_client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {raw_key}")
            admin_client = Client(HTTP_HOST="127.0.0.1")
            sign_in(admin_client, admin.email, device)

            kinds = {
                "session: GET / (home page)": lambda: session_client.get("/"),
                "session: GET /api/me": lambda: session_client.get("/api/me"),
                "API key: GET /api/me": lambda: key_client.get("/api/me"),
                f"admin: user list, {SMALL_LIST} users": lambda: admin_client.get("/admin/accounts/user/"),
            }
            results = {name: count_queries(send, options.repeat) for name, send in kinds.items()}

            for number in range(SMALL_LIST - 2, LARGE_LIST - 2):
                User.objects.create_user(f"user{number}@example.com", None, role="editor")
            large_name = f"admin: user list, {LARGE_LIST} users"
            results[large_name] = count_queries(lambda: admin_client.get("/admin/accounts/user/"), options.repeat)

    print(f"Database queries per request, first request then {options.repeat} repeats, "
          "in process, SQLite, local-memory cache")
    print(f"Python {platform.python_version()} on {platform.platform()}")
    print(f"{'request':34} {'first':>6} {'repeated':>9}")
    for name, (first, repeated, _) in results.items():
        repeated_counts = str(repeated[0]) if len(set(repeated)) == 1 else ",".join(map(str, repeated))
        print(f"{name:34} {first:6} {repeated_counts:>9}")
    small = results[f"admin: user list, {SMALL_LIST} users"][1][-1]
    large = results[large_name][1][-1]
    key = results["API key: GET /api/me"][1][-1]
    session = results["session: GET /api/me"][1][-1]
    print(f"user list: {LARGE_LIST} users / {SMALL_LIST} users = {large / small:.2f} "
          f"({(large - small) / (LARGE_LIST - SMALL_LIST):.2f} extra queries per extra user)")
    print(f"GET /api/me: API key / session = {key / session:.2f}")
    if options.show_sql:
        for name, (_, _, statements) in results.items():
            print(f"\n{name}:")
            for statement in statements:
                print(f"  {statement}")


if __name__ == "__main__":
    main()
