"""Shared test helpers: signal recording, sign-in through the real forms, subprocesses."""

import os
import re
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.urls import reverse

from accounts import signals as account_signals
from rbac import signals as rbac_signals

REPO_ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Correct-Horse-42"

WATCHED_SIGNALS = {
    "login": user_logged_in,
    "login_failed": user_login_failed,
    "logout": user_logged_out,
    "session_expired": account_signals.session_expired,
    "session_revoked": account_signals.session_revoked,
    "password_changed": account_signals.password_changed,
    "user_created": account_signals.user_created,
    "user_deactivated": account_signals.user_deactivated,
    "user_reactivated": account_signals.user_reactivated,
    "user_deleted": account_signals.user_deleted,
    "role_changed": rbac_signals.role_changed,
    "permission_denied": rbac_signals.permission_denied,
}


@dataclass
class SignalLog:
    """Every watched signal sent while recording, in order, with its arguments."""

    events: list[tuple[str, dict]] = field(default_factory=list)

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def count(self, name: str) -> int:
        return self.names().count(name)

    def only(self, name: str) -> dict:
        """Return the arguments of the single ``name`` event; fail unless there is exactly one."""
        matches = [kwargs for event, kwargs in self.events if event == name]
        assert len(matches) == 1, f"expected one {name} signal, got {len(matches)}: {self.names()}"
        return matches[0]

    def clear(self) -> None:
        self.events.clear()


@contextmanager
def record_signals():
    log = SignalLog()
    receivers = []
    for name, signal in WATCHED_SIGNALS.items():

        def receiver(sender, _name=name, **kwargs):
            kwargs.pop("signal", None)
            log.events.append((_name, kwargs))

        signal.connect(receiver, weak=False)
        receivers.append((signal, receiver))
    try:
        yield log
    finally:
        for signal, receiver in receivers:
            signal.disconnect(receiver)


def sign_in(client, email: str, password: str = PASSWORD, **extra):
    """Sign in through the allauth login form, as a browser does."""
    return client.post(reverse("account_login"), {"login": email, "password": password}, **extra)


def is_signed_in(client) -> bool:
    """Return whether the client's session is still signed in, judged by a page load."""
    response = client.get(reverse("home"))
    return response.status_code == 200


def run_manage(project_root: Path, *args: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``manage.py`` with the production settings module in a fresh project folder."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DANGO_") and key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env["DANGO_PROJECT_ROOT"] = str(project_root)
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def printed_password(output: str) -> str:
    """Return the one-time password printed by ``bootstrap`` or ``users``."""
    match = re.search(r"password[^\n]*?:\s*\n?\s*(\S{12,})\s*$", output, re.MULTILINE | re.IGNORECASE)
    assert match, f"no password found in output:\n{output}"
    return match.group(1)
