"""A real gunicorn server on 127.0.0.1 and a burst of simultaneous sign-ins against it."""

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[3]
SETTINGS_MODULE = "tests.accounts.bruteforce.server_settings"
CSRF_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(project_root: Path, hasher_log: Path, **extra: str) -> dict:
    """Return the environment of a server process: test settings, its own project folder, the hasher log."""
    environment = dict(os.environ)
    environment.update(
        DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
        DANGO_PROJECT_ROOT=str(project_root),
        DANGO_TEST_HASHER_LOG=str(hasher_log),
        PYTHONPATH=str(REPOSITORY),
        **extra,
    )
    return environment


def run_django(environment: dict, *arguments: str) -> None:
    """Run ``manage.py`` with ``arguments`` in the server's environment; fail loudly on error."""
    subprocess.run(
        [sys.executable, "manage.py", *arguments], cwd=REPOSITORY, env=environment, check=True,
        capture_output=True, timeout=300,
    )


class GunicornServer:
    """gunicorn serving the project on 127.0.0.1 with several worker processes and threads."""

    def __init__(self, environment: dict, workers: int = 3, threads: int = 8):
        self.port = free_port()
        self.environment = environment
        self.command = [
            sys.executable, "-m", "gunicorn", "dango_site.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
            "--timeout", "120", "--graceful-timeout", "5",
        ]
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "GunicornServer":
        self.process = subprocess.Popen(
            self.command, cwd=REPOSITORY, env=self.environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read().decode(errors="replace")
                raise RuntimeError(f"gunicorn exited with status {self.process.returncode}:\n{output}")
            try:
                status, _, _ = self.request("GET", "/accounts/login/")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError("gunicorn did not answer GET /accounts/login/ within 60 seconds.")

    def __exit__(self, *exc_info) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read().decode(errors="replace")
        finally:
            connection.close()

    def csrf(self) -> tuple[str, str]:
        """Return a CSRF cookie and a form token that go with it."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request("GET", "/accounts/login/")
            response = connection.getresponse()
            cookies = response.headers.get_all("Set-Cookie") or []
            body = response.read().decode()
        finally:
            connection.close()
        cookie = next(c.split(";", 1)[0] for c in cookies if c.startswith("csrftoken="))
        return cookie, CSRF_TOKEN.search(body).group(1)


@dataclass
class BurstResult:
    statuses: list[int]
    retry_after: list[str | None]


def burst_sign_ins(server: GunicornServer, email: str, passwords: list[str]) -> BurstResult:
    """POST one sign-in per password, all released at the same moment from their own threads."""
    cookie, token = server.csrf()
    barrier = threading.Barrier(len(passwords))
    statuses: list[int | None] = [None] * len(passwords)
    retry_after: list[str | None] = [None] * len(passwords)

    def attempt(index: int) -> None:
        body = urllib.parse.urlencode({"login": email, "password": passwords[index], "csrfmiddlewaretoken": token})
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
        barrier.wait(timeout=60)
        status, response_headers, _ = server.request("POST", "/accounts/login/", body=body, headers=headers)
        statuses[index] = status
        retry_after[index] = response_headers.get("Retry-After")

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(passwords))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return BurstResult(statuses=statuses, retry_after=retry_after)
