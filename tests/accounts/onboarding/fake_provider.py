"""A fake Google and GitHub, served over real HTTP on 127.0.0.1.

It implements the authorization-code flow the way both providers do, with
the checks that make a test able to fail: the authorize step issues a
one-time code bound to the client, redirect URI and PKCE challenge; the
token step checks all three and the client secret. The user-info endpoints
accept only access tokens it issued. The identity that "signs in" at the
provider is chosen by the test beforehand with ``sign_in_as``.

URL layout, under http://127.0.0.1:<port>:
  /google/o/oauth2/v2/auth, /google/token, /google/oauth2/v2/userinfo
  /github/login/oauth/authorize, /github/login/oauth/access_token,
  /github/api/v3/user, /github/api/v3/user/emails
"""

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt

GOOGLE_CLIENT_ID = "dango-test.apps.googleusercontent.com"
GOOGLE_CLIENT_SECRET = "google-test-client-secret-4b1d"
GITHUB_CLIENT_ID = "Iv1.dangotestclient"
GITHUB_CLIENT_SECRET = "github-test-client-secret-93ce"
CLIENTS = {"google": (GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET), "github": (GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET)}


@dataclass
class Identity:
    """A provider account. ``emails`` contains (address, verified, primary) triples."""

    provider: str
    uid: str
    emails: list[tuple[str, bool, bool]]
    name: str = "Test Person"
    login: str = "test-person"
    # Google only: put the claims in an id_token (as Google does for the
    # email scope) or leave it out so that allauth calls the userinfo URL.
    use_id_token: bool = True

    @property
    def primary_email(self) -> tuple[str, bool] | None:
        for address, verified, primary in self.emails:
            if primary:
                return address, verified
        return None


@dataclass
class _Grant:
    identity: Identity
    client_id: str
    redirect_uri: str
    code_challenge: str | None


@dataclass
class FakeProvider:
    host: str
    port: int
    identities: dict[str, Identity] = field(default_factory=dict)
    deny: set[str] = field(default_factory=set)
    codes: dict[str, _Grant] = field(default_factory=dict)
    access_tokens: dict[str, Identity] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    token_requests: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def reset(self) -> None:
        with self.lock:
            self.identities.clear()
            self.deny.clear()
            self.codes.clear()
            self.access_tokens.clear()
            self.requests.clear()
            self.token_requests.clear()

    def sign_in_as(self, identity: Identity) -> None:
        with self.lock:
            self.identities[identity.provider] = identity

    def deny_consent(self, provider: str) -> None:
        with self.lock:
            self.deny.add(provider)

    def paths_requested(self) -> list[str]:
        with self.lock:
            return [path for _method, path in self.requests]


def _pkce_matches(verifier: str | None, challenge: str | None) -> bool:
    if challenge is None:
        return verifier is None
    if verifier is None:
        return False
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge


class _Handler(BaseHTTPRequestHandler):
    fake: FakeProvider  # set on the subclass made by start()

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass

    def _send_json(self, status: int, body) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _record(self) -> tuple[str, dict]:
        parts = urlsplit(self.path)
        with self.fake.lock:
            self.fake.requests.append((self.command, parts.path))
        return parts.path, {key: values[0] for key, values in parse_qs(parts.query).items()}

    def do_GET(self):
        path, query = self._record()
        routes = {
            "/google/o/oauth2/v2/auth": lambda: self._authorize("google", query),
            "/github/login/oauth/authorize": lambda: self._authorize("github", query),
            "/google/oauth2/v2/userinfo": self._google_userinfo,
            "/github/api/v3/user": self._github_user,
            "/github/api/v3/user/emails": self._github_emails,
        }
        handler = routes.get(path)
        if handler is None:
            self._send_json(404, {"error": "not_found"})
        else:
            handler()

    def do_POST(self):
        path, _query = self._record()
        length = int(self.headers.get("Content-Length") or 0)
        form = {key: values[0] for key, values in parse_qs(self.rfile.read(length).decode()).items()}
        if path == "/google/token":
            self._token("google", form)
        elif path == "/github/login/oauth/access_token":
            self._token("github", form)
        else:
            self._send_json(404, {"error": "not_found"})

    def _authorize(self, provider: str, query: dict) -> None:
        client_id, _secret = CLIENTS[provider]
        redirect_uri = query.get("redirect_uri")
        if query.get("client_id") != client_id or query.get("response_type") != "code" or not redirect_uri:
            self._send_json(400, {"error": "invalid_request"})
            return
        state = query.get("state", "")
        with self.fake.lock:
            denied = provider in self.fake.deny
            identity = self.fake.identities.get(provider)
        if denied:
            self._redirect(f"{redirect_uri}?{urlencode({'error': 'access_denied', 'state': state})}")
            return
        if identity is None:
            self._send_json(500, {"error": f"the test chose no {provider} identity"})
            return
        code = secrets.token_urlsafe(16)
        with self.fake.lock:
            self.fake.codes[code] = _Grant(identity, client_id, redirect_uri, query.get("code_challenge"))
        self._redirect(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}")

    def _token(self, provider: str, form: dict) -> None:
        client_id, client_secret = CLIENTS[provider]
        with self.fake.lock:
            self.fake.token_requests.append({"provider": provider, **form})
            grant = self.fake.codes.pop(form.get("code", ""), None)
        if form.get("client_id") != client_id or form.get("client_secret") != client_secret:
            self._send_json(401, {"error": "invalid_client"})
            return
        if (
            grant is None
            or grant.client_id != client_id
            or grant.redirect_uri != form.get("redirect_uri")
            or not _pkce_matches(form.get("code_verifier"), grant.code_challenge)
        ):
            self._send_json(400, {"error": "invalid_grant"})
            return
        access_token = secrets.token_urlsafe(24)
        with self.fake.lock:
            self.fake.access_tokens[access_token] = grant.identity
        body = {"access_token": access_token, "token_type": "Bearer", "expires_in": 3599}
        if provider == "google" and grant.identity.use_id_token:
            body["id_token"] = self._google_id_token(grant.identity)
        self._send_json(200, body)

    def _google_id_token(self, identity: Identity) -> str:
        now = int(time.time())
        claims = {
            "iss": f"{self.fake.base_url}/google",
            "aud": GOOGLE_CLIENT_ID,
            "sub": identity.uid,
            "iat": now,
            "exp": now + 3600,
            "jti": secrets.token_hex(8),
            "name": identity.name,
        }
        if primary := identity.primary_email:
            claims["email"], claims["email_verified"] = primary
        # allauth skips the signature check for an id_token it fetched from
        # the token endpoint itself, as OpenID Connect allows; any key works.
        return jwt.encode(claims, secrets.token_hex(32), algorithm="HS256")

    def _identity_for_bearer(self, scheme: str) -> Identity | None:
        header = self.headers.get("Authorization", "")
        prefix = f"{scheme} "
        if not header.startswith(prefix):
            return None
        with self.fake.lock:
            return self.fake.access_tokens.get(header[len(prefix):])

    def _google_userinfo(self) -> None:
        identity = self._identity_for_bearer("Bearer")
        if identity is None:
            self._send_json(401, {"error": "invalid_token"})
            return
        body = {"id": identity.uid, "name": identity.name}
        if primary := identity.primary_email:
            body["email"], body["verified_email"] = primary
        self._send_json(200, body)

    def _github_user(self) -> None:
        identity = self._identity_for_bearer("token")
        if identity is None:
            self._send_json(401, {"message": "Bad credentials"})
            return
        primary = identity.primary_email
        self._send_json(
            200,
            {
                "id": int(identity.uid),
                "login": identity.login,
                "name": identity.name,
                # The public profile address, which GitHub does not mark verified.
                "email": primary[0] if primary else None,
            },
        )

    def _github_emails(self) -> None:
        identity = self._identity_for_bearer("token")
        if identity is None:
            self._send_json(401, {"message": "Bad credentials"})
            return
        self._send_json(
            200,
            [
                {"email": address, "verified": verified, "primary": primary, "visibility": None}
                for address, verified, primary in identity.emails
            ],
        )


def start(port: int) -> tuple[FakeProvider, ThreadingHTTPServer]:
    fake = FakeProvider(host="127.0.0.1", port=port)
    handler = type("FakeProviderHandler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="fake-oauth-provider", daemon=True).start()
    return fake, server
