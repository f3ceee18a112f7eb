"""Requests per second on GET /api/me: API key (Bearer) against session cookie, in one run.

Both kinds of request go through the whole middleware stack in this process
(Django's test client, no network) against a fresh SQLite database in a
temporary project folder. They alternate in rounds, so a machine that slows
down during the run slows both. The printed ratio is the median key rate
divided by the median session rate.

Usage: python bench/api_throughput.py [--requests 500] [--rounds 7]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def configure_django(project_root: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ["DANGO_PROJECT_ROOT"] = project_root
    os.environ["DJANGO_SETTINGS_MODULE"] = "dango_site.settings"
    os.environ["DANGO_LOG_LEVEL"] = "WARNING"
    # A limit this high never stops the benchmark, but the limiter still counts every request.
    os.environ["DANGO_API_KEY_RATE_LIMIT"] = str(10**9)
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)

    import django

    django.setup()


def measure(send, count: int) -> float:
    """Send ``count`` requests and return requests per second."""
    start = time.perf_counter()
    for _ in range(count):
        response = send()
        if response.status_code != 200:
            raise SystemExit(f"Benchmark request failed with status {response.status_code}: {response.content[:200]!r}")
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500, help="requests per kind per round (default 500)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds of both kinds (default 7)")
    arguments = parser.parse_args()
    if arguments.requests < 1 or arguments.rounds < 1:
        parser.error("--requests and --rounds must be at least 1")

    with tempfile.TemporaryDirectory(prefix="dango-bench-") as project_root:
        configure_django(project_root)

        from django.conf import settings
        from django.core.management import call_command
        from django.test import Client

        from accounts.apikeys.operations import create_api_key
        from accounts.models import User

        call_command("migrate", verbosity=0)
        settings.AUDIT_LOG_FSYNC = False
        user = User.objects.create_user("bench@example.com", "Correct-Horse-42", role="editor")
        raw_key = create_api_key(user, "bench").raw

        key_client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        session_client = Client(HTTP_HOST="127.0.0.1")
        session_client.force_login(user)
        senders = {
            "api_key": lambda: key_client.get("/api/me"),
            "session": lambda: session_client.get("/api/me"),
        }
        for send in senders.values():
            measure(send, min(50, arguments.requests))  # warm-up: imports, caches, first last-use write

        rates = {name: [] for name in senders}
        for round_number in range(arguments.rounds):
            # Alternate which kind goes first, so neither always runs on a warmer or cooler machine.
            order = list(senders) if round_number % 2 == 0 else list(reversed(senders))
            for name in order:
                rates[name].append(measure(senders[name], arguments.requests))

    key_rate = statistics.median(rates["api_key"])
    session_rate = statistics.median(rates["session"])
    print(f"GET /api/me, {arguments.rounds} rounds x {arguments.requests} requests per kind, in-process")
    for name, label in (("api_key", "API key (Bearer)"), ("session", "session cookie")):
        values = ", ".join(f"{rate:.0f}" for rate in rates[name])
        print(f"{label:17} median {statistics.median(rates[name]):7.0f} req/s   rounds: {values}")
    print(f"ratio API key / session: {key_rate / session_rate:.2f}")


if __name__ == "__main__":
    main()
