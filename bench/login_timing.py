"""Median time of a failed sign-in: unknown email, known email with a wrong password, OAuth-only account.

The three must take the same time within noise, or the time of a failure
reveals which emails have accounts. This runs the real stack in process (the
site's middleware, allauth, axes and the lockout gate) with the production
settings and password hashers, on a throwaway SQLite project folder, and
prints the medians side by side. It is not a test and asserts nothing.

Each round sends one attempt per case in a rotating order, from a fresh
address in 198.18.0.0/15 (the range set aside for benchmarks), so no
(email, IP) pair gets near the lockout and no IP near its rate limit. The
addresses only fill REMOTE_ADDR; nothing leaves the process.

    python bench/login_timing.py [--rounds 60] [--warmup 5]
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
CASES = ("unknown email", "known email, wrong password", "OAuth-only account")
EMAILS = {
    "unknown email": "nobody@example.com",
    "known email, wrong password": "known@example.com",
    "OAuth-only account": "oauth-only@example.com",
}


def set_up_django(project_root: str) -> None:
    os.environ["DANGO_PROJECT_ROOT"] = project_root
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dango_site.settings")
    # axes logs every failure at INFO; the table is the output that matters.
    os.environ.setdefault("DANGO_LOG_LEVEL", "WARNING")
    for name in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(REPOSITORY))

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def create_accounts() -> None:
    from allauth.socialaccount.models import SocialAccount

    from accounts.models import User

    User.objects.create_user(EMAILS["known email, wrong password"], "Correct-Horse-Battery-42")
    oauth_only = User.objects.create_user(EMAILS["OAuth-only account"], None)
    SocialAccount.objects.create(user=oauth_only, provider="google", uid="100000000000000000001")


def client_address(index: int) -> str:
    return f"198.18.{index // 256}.{index % 256}"


def time_failures(rounds: int, warmup: int) -> dict[str, list[float]]:
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    timings: dict[str, list[float]] = {case: [] for case in CASES}
    for index in range(warmup + rounds):
        shift = index % len(CASES)
        for case in CASES[shift:] + CASES[:shift]:
            started = time.perf_counter()
            response = client.post(
                "/accounts/login/",
                {"login": EMAILS[case], "password": "Wrong-Guess-12345"},
                REMOTE_ADDR=client_address(index),
            )
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise SystemExit(f"Expected the failed sign-in form (200) for {case!r}, got {response.status_code}.")
            if index >= warmup:
                timings[case].append(elapsed)
    return timings


def describe_hasher() -> str:
    from django.contrib.auth.hashers import get_hasher

    hasher = get_hasher()
    params = ", ".join(
        f"{name}={getattr(hasher, name)}" for name in ("time_cost", "memory_cost", "parallelism") if hasattr(hasher, name)
    )
    return f"{hasher.algorithm} ({params})" if params else hasher.algorithm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60, help="measured attempts per case (default 60)")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured rounds first (default 5)")
    options = parser.parse_args()
    if options.rounds < 1 or options.warmup < 0 or options.rounds + options.warmup > 256 * 256:
        parser.error("--rounds must be 1 or more, --warmup 0 or more, and together at most 65536.")

    with tempfile.TemporaryDirectory(prefix="dango-bench-") as project_root:
        set_up_django(project_root)
        create_accounts()
        timings = time_failures(options.rounds, options.warmup)
        hasher = describe_hasher()

    baseline = statistics.median(timings[CASES[0]])
    print(f"Sign-in failure timing: {options.rounds} rounds after {options.warmup} warm-up, hasher {hasher}")
    print(f"Python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs")
    print(f"{'case':30} {'median ms':>10} {'p10 ms':>8} {'p90 ms':>8} {'median / unknown':>17}")
    for case in CASES:
        values = sorted(timings[case])
        deciles = statistics.quantiles(values, n=10) if len(values) > 1 else [values[0]] * 9
        median = statistics.median(values)
        print(
            f"{case:30} {median * 1000:10.1f} {deciles[0] * 1000:8.1f} {deciles[-1] * 1000:8.1f} "
            f"{median / baseline:17.3f}"
        )


if __name__ == "__main__":
    main()
