"""Several processes that need a Google token at the same moment cause one refresh."""

import subprocess
import sys
from pathlib import Path

from credentials.google_oauth import load_state, store_google_token

from .fake_google import FakeGoogle

REPO_ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 5


def test_five_processes_one_refresh(store, settings):
    """Five processes asking at once for an expired token cause exactly one token request.

    The fake server responds after 0.5 s, so the other processes start
    waiting while the first refresh is in flight. They must read its result
    from the file instead of requesting a token themselves.
    """
    google = FakeGoogle(delay=0.5).start()
    settings.CREDENTIALS_GOOGLE_TOKEN_URL = google.token_url
    try:
        store_google_token(
            "sheets",
            client_id="client-id",
            client_secret="canary-client-secret",
            refresh_token="canary-refresh-token",
            access_token="expired-token",
            # Inside the 60-second refresh margin from the start.
            expires_in=1,
        )

        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.credentials.workers", "get-token", str(store.project_root), google.token_url],
                cwd=REPO_ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(PROCESSES)
        ]
        for worker in workers:
            line = worker.stdout.readline().strip()
            assert line == "ready", worker.stderr.read()
        # Release them together: all are set up and blocked on standard input.
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        tokens = []
        for worker in workers:
            stdout, stderr = worker.communicate(timeout=120)
            assert worker.returncode == 0, stderr
            tokens.append(stdout.strip())
    finally:
        google.stop()

    assert len(google.requests_to("/token")) == 1
    assert tokens == ["token fresh-token-1"] * PROCESSES
    assert load_state("sheets", store).access_token == "fresh-token-1"
