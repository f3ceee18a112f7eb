"""A real Dango deployment for tests: ``manage.py`` in subprocesses and gunicorn on 127.0.0.1.

The site runs in its own processes (``manage.py`` commands, then gunicorn
as in a deployment) with its own project folder. The test process reaches
it only over HTTP, through ``manage.py`` and through the files in the
project folder (audit log, secrets.toml). Server output goes to
``server.log`` in that folder, because a pipe that nobody reads would
block the server once it fills.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
# Database and cache of the test process; a site gets only what its caller passes.
SERVICE_VARIABLES = ("DATABASE_URL", "DANGO_TEST_DATABASE_URL", "REDIS_URL", "DANGO_TEST_REDIS_URL")
START_TIMEOUT = 90  # seconds until gunicorn returns its first response
COMMAND_TIMEOUT = 300  # seconds for one manage.py command


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str
    # Every Set-Cookie header, which ``headers`` would fold into one.
    cookies: list[str] = field(default_factory=list)

    def json(self):
        return json.loads(self.body)


class LiveSite:
    """A project folder, the ``manage.py`` commands that act on it and a gunicorn server serving it.

    ``environment`` adds to or overrides the test process's environment;
    DATABASE_URL and REDIS_URL are passed on only when given here, so a site
    runs on SQLite with the local-memory cache unless its caller asks for
    PostgreSQL and Redis.
    """

    def __init__(self, project_root: Path, settings_module: str = "tests.settings", workers: int = 1,
                 threads: int = 4, environment: dict[str, str] | None = None):
        self.project_root = Path(project_root)
        self.project_root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.threads = threads
        self.log_path = self.project_root / "server.log"
        self.environment = {
            name: value for name, value in os.environ.items()
            if name not in SERVICE_VARIABLES and not name.startswith("PYTEST_")
        }
        self.environment.update(
            DJANGO_SETTINGS_MODULE=settings_module,
            DANGO_PROJECT_ROOT=str(self.project_root),
            PYTHONPATH=str(REPOSITORY),
            **(environment or {}),
        )
        self.process: subprocess.Popen | None = None

    @property
    def audit_log_path(self) -> Path:
        return self.project_root / ".dango" / "logs" / "audit.jsonl"

    def manage(self, *arguments: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """Run ``manage.py`` with ``arguments`` against this site's project folder and database."""
        result = subprocess.run(
            [sys.executable, "manage.py", *arguments], cwd=REPOSITORY, env=self.environment, input=input,
            capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"manage.py {' '.join(arguments)} exited with status {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result

    def start(self) -> "LiveSite":
        command = [
            sys.executable, "-m", "gunicorn", "dango_site.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers), "--threads", str(self.threads), "--worker-class", "gthread",
            "--timeout", "120", "--graceful-timeout", "10",
        ]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=REPOSITORY, env=self.environment, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with status {self.process.returncode}:\n{self.server_log()}")
            try:
                if self.request("GET", "/healthz").status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer GET /healthz within {START_TIMEOUT} seconds:\n{self.server_log()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def __enter__(self) -> "LiveSite":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def worker_pids(self) -> list[int]:
        """Return the ids of the gunicorn worker processes, the children of the master."""
        children = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name in brackets may hold spaces; the parent id is the second field after it.
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid:
                children.append(int(entry.name))
        return children

    def server_log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def request(self, method: str, path: str, body: str | bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 120) -> Response:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Response(
                status=response.status,
                headers={name.lower(): value for name, value in response.getheaders()},
                body=response.read().decode(errors="replace"),
                cookies=response.headers.get_all("Set-Cookie") or [],
            )
        finally:
            connection.close()

    def audit_records(self) -> list[dict]:
        """Return every record of the site's audit log, rotated files first, in file order."""
        path = self.audit_log_path
        rotated = sorted(path.parent.glob(path.name + ".[0-9]*")) if path.parent.exists() else []
        records = []
        for file in [*rotated, path]:
            if file.exists():
                records.extend(json.loads(line) for line in file.read_text().splitlines())
        return records
