"""A fake Google OAuth token and revoke endpoint on 127.0.0.1 for tests.

Queue replies with ``reply_token`` / ``reply_revoke``; without a queued
reply the token endpoint grants a new access token (``fresh-token-<n>``)
and the revoke endpoint returns 200. Every request is recorded with its
form fields.
"""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass
class Reply:
    status: int
    body: dict | None = None
    headers: dict = field(default_factory=dict)


@dataclass
class Request:
    path: str
    form: dict[str, str]
    content_type: str


class FakeGoogle:
    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.requests: list[Request] = []
        self._replies: dict[str, list[Reply]] = {"/token": [], "/revoke": []}
        self._granted = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def token_url(self) -> str:
        return self.base_url + "/token"

    @property
    def revoke_url(self) -> str:
        return self.base_url + "/revoke"

    def start(self) -> "FakeGoogle":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reply_token(self, status: int, body: dict | None = None, headers: dict | None = None) -> None:
        self._replies["/token"].append(Reply(status, body, headers or {}))

    def reply_revoke(self, status: int, body: dict | None = None) -> None:
        self._replies["/revoke"].append(Reply(status, body))

    def requests_to(self, path: str) -> list[Request]:
        return [request for request in self.requests if request.path == path]

    def _next_reply(self, path: str) -> Reply:
        with self._lock:
            queued = self._replies.get(path)
            if queued:
                return queued.pop(0)
            if path == "/token":
                self._granted += 1
                return Reply(
                    200,
                    {
                        "access_token": f"fresh-token-{self._granted}",
                        "expires_in": 3599,
                        "scope": "https://www.googleapis.com/auth/spreadsheets.readonly",
                        "token_type": "Bearer",
                    },
                )
            if path == "/revoke":
                return Reply(200, None)
            return Reply(404, {"error": "not_found"})

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length).decode("utf-8")
                form = {key: values[0] for key, values in parse_qs(raw).items()}
                with fake._lock:
                    fake.requests.append(Request(self.path, form, self.headers.get("Content-Type", "")))
                if fake.delay:
                    time.sleep(fake.delay)
                reply = fake._next_reply(self.path)
                payload = b"" if reply.body is None else json.dumps(reply.body).encode("utf-8")
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format, *args):
                pass

        return Handler
