"""Time of one password check with the production Argon2 parameters, and its share of a whole sign-in request.

This runs with the production settings and hashers on a fresh SQLite project
folder, in process (Django's test client, no network). Each round times
three things, in alternating order so that load changes affect all three:

    password check       Argon2 verify() of the right password against the stored hash, alone
    sign-in              a successful POST /accounts/login/ through every middleware, allauth,
                         axes and the lockout gate, including the session and the audit record
                         (written with fsync, as in production), up to the redirect
    failed sign-in       the same POST with a wrong password, up to the re-rendered form

The hasher's verify() and encode() are wrapped to count calls, so the
output says how many hashes each request computes. The share of a request
spent hashing is that count times the median password check, divided by
the median request time. Every round comes from a fresh client address in
198.18.0.0/15 (the range set aside for benchmarks), so neither the lockout
nor the per-address limit interferes. The addresses only fill REMOTE_ADDR.

Usage: python bench/sign_in_cost.py [--rounds 20] [--warmup 2]
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
EMAIL = "bench@example.com"
PASSWORD = "Correct-Horse-Battery-42"


def set_up_django(project_root: str) -> None:
    os.environ["DANGO_PROJECT_ROOT"] = project_root
    os.environ["DJANGO_SETTINGS_MODULE"] = "dango_site.settings"
    os.environ["DANGO_LOG_LEVEL"] = "ERROR"
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(REPOSITORY))

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def count_hashes(hasher_class) -> Counter:
    """Wrap ``verify`` and ``encode`` of ``hasher_class`` so that each call is counted; return the counter."""
    calls = Counter()
    for name in ("verify", "encode"):
        original = getattr(hasher_class, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            calls[_name] += 1
            return _original(self, *args, **kwargs)

        setattr(hasher_class, name, counted)
    return calls


def client_address(index: int) -> str:
    return f"198.18.{index // 256}.{index % 256}"


def percentiles(values: list[float]) -> tuple[float, float, float]:
    deciles = statistics.quantiles(values, n=10) if len(values) > 1 else [values[0]] * 9
    return statistics.median(values), deciles[0], deciles[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="measured rounds (default 20)")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured rounds first (default 2)")
    options = parser.parse_args()
    if options.rounds < 1 or options.warmup < 0 or options.rounds + options.warmup > 256 * 256:
        parser.error("--rounds must be 1 or more, --warmup 0 or more, and together at most 65536.")

    with tempfile.TemporaryDirectory(prefix="dango-bench-") as project_root:
        set_up_django(project_root)

        from django.contrib.auth.hashers import get_hasher
        from django.test import Client

        from accounts.models import User

        user = User.objects.create_user(EMAIL, PASSWORD, role="viewer")
        hasher = get_hasher()
        calls = count_hashes(type(hasher))
        parameters = ", ".join(f"{name}={getattr(hasher, name)}" for name in ("time_cost", "memory_cost", "parallelism"))

        def check_password():
            if not hasher.verify(PASSWORD, user.password):
                raise SystemExit("The stored hash does not verify; the benchmark needs the right password.")

        def sign_in(index: int, password: str, expected_status: int):
            response = Client(HTTP_HOST="127.0.0.1").post(
                "/accounts/login/", {"login": EMAIL, "password": password}, REMOTE_ADDR=client_address(index)
            )
            if response.status_code != expected_status:
                raise SystemExit(f"A sign-in returned {response.status_code}, expected {expected_status}.")

        kinds = {
            "password check": lambda index: check_password(),
            "sign-in": lambda index: sign_in(index, PASSWORD, 302),
            "failed sign-in": lambda index: sign_in(index, "Wrong-Guess-12345", 200),
        }
        timings = {name: [] for name in kinds}
        hashes = {name: Counter() for name in kinds}
        for index in range(options.warmup + options.rounds):
            order = list(kinds) if index % 2 == 0 else list(reversed(kinds))
            for name in order:
                before = Counter(calls)
                started = time.perf_counter()
                kinds[name](index)
                elapsed = time.perf_counter() - started
                if index >= options.warmup:
                    timings[name].append(elapsed)
                    hashes[name] += Counter(calls) - before

    check_median = statistics.median(timings["password check"])
    print(f"Sign-in cost: {options.rounds} rounds after {options.warmup} warm-up, in process, SQLite")
    print(f"hasher {hasher.algorithm} ({parameters})")
    print(f"Python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs")
    print(f"{'request':16} {'median ms':>10} {'p10 ms':>8} {'p90 ms':>8} {'hashes':>7} {'hashing share':>14}")
    for name in kinds:
        median, p10, p90 = percentiles(timings[name])
        per_request = (hashes[name]["verify"] + hashes[name]["encode"]) / options.rounds
        # The share of the check itself would be 100% by definition.
        share = "" if name == "password check" else f"{per_request * check_median / median:.0%}"
        print(f"{name:16} {median * 1000:10.1f} {p10 * 1000:8.1f} {p90 * 1000:8.1f} {per_request:7.2f} {share:>14}")


if __name__ == "__main__":
    main()
