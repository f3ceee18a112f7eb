"""manage.py secrets list|set|delete|check."""

import io
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from credentials.google_oauth import load_state, store_google_token
from credentials.oauth_state import Status

REPO_ROOT = Path(__file__).resolve().parents[2]
CANARY = "canary-command-secret-9f8e"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("secrets", *args, stdout=out)
    return out.getvalue()


def manage(project: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    """Run manage.py in a child process, the way an operator does."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    code = (
        "import sys; from django.core.management import execute_from_command_line; "
        "from django.test.utils import override_settings; import django; django.setup(); "
        f"override_settings(CREDENTIALS_PROJECT_ROOT={str(project)!r}).enable(); "
        "execute_from_command_line(['manage.py', *sys.argv[1:]])"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO_ROOT,
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_set_reads_standard_input(project, store):
    """set reads the value from standard input, dropping one trailing line break."""
    result = manage(project, "secrets", "set", "sources.stripe.api_key", input=CANARY + "\n")
    assert result.returncode == 0, result.stderr
    assert store.get("sources.stripe.api_key") == CANARY
    assert "Added sources.stripe.api_key (••••9f8e)." in result.stdout
    assert CANARY not in result.stdout + result.stderr


def test_set_never_takes_the_value_from_argv(project, store):
    """A value on the command line is rejected by the argument parser; nothing is stored."""
    result = manage(project, "secrets", "set", "sources.stripe.api_key", CANARY, input="")
    assert result.returncode != 0
    assert "unrecognized arguments" in result.stderr
    assert not store.exists()


def test_set_prompts_twice_on_a_terminal(store, monkeypatch):
    """On a terminal the value is asked twice without echo; differing entries store nothing."""
    answers = iter([CANARY, CANARY + "-typo"])
    monkeypatch.setattr("sys.stdin", _Terminal())
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    with pytest.raises(CommandError) as caught:
        run("set", "sources.stripe.api_key")
    assert "differ" in str(caught.value)
    assert not store.exists()

    answers = iter([CANARY, CANARY])
    assert "Added sources.stripe.api_key" in run("set", "sources.stripe.api_key")
    assert store.get("sources.stripe.api_key") == CANARY


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    "path,stdin,message",
    [
        ("sources.stripe.api_key", "", "The value is empty"),
        ("dango.oauth.x.access_token", "value-1234567", "keeps for its own"),
        ("sources..api_key", "value-1234567", "is invalid"),
    ],
)
def test_set_errors(store, monkeypatch, path, stdin, message):
    """Bad input fails with CommandError and a reason; nothing is written."""
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    with pytest.raises(CommandError) as caught:
        run("set", path, "--stdin")
    assert message in str(caught.value)
    assert not store.exists()


def test_list_masks(store):
    """list shows groups and keys with masked values only."""
    store.set("sources.stripe.api_key", CANARY)
    store.set("sources.hubspot.token", "short")
    output = run("list")
    assert "sources.stripe" in output
    assert "api_key" in output
    assert "••••9f8e" in output
    assert CANARY not in output
    assert "short" not in output
    assert "sources.stripe" in run("list", "--source", "stripe")
    assert "hubspot" not in run("list", "--source", "sources.stripe")
    with pytest.raises(CommandError):
        run("list", "--source", "nothing")


def test_delete_requires_yes(store, sent_signals):
    """delete refuses without --yes and removes the path with it, sending secret_deleted."""
    store.set("sources.stripe.api_key", CANARY)
    with pytest.raises(CommandError) as caught:
        run("delete", "sources.stripe")
    assert "--yes" in str(caught.value)
    assert store.get("sources.stripe.api_key") == CANARY
    assert "Deleted sources.stripe." in run("delete", "sources.stripe", "--yes")
    assert "stripe" not in store.load().get("sources", {})
    assert sent_signals == [("secret_deleted", {"path": "sources.stripe", "actor": None, "request": None})]
    with pytest.raises(CommandError) as caught:
        run("delete", "sources.stripe", "--yes")
    assert "No value is stored at sources.stripe" in str(caught.value)


def test_check_healthy(project, store):
    """check exits 0 when the file is private and ignored."""
    store.set("sources.stripe.api_key", CANARY)
    result = manage(project, "secrets", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Nothing needs action." in result.stdout
    assert "mode 0600, folder mode 0700" in result.stdout
    assert CANARY not in result.stdout


def test_check_loose_mode_fails(project, store):
    """check exits non-zero and names the fix when the file is readable by others."""
    store.set("sources.stripe.api_key", CANARY)
    store.path.chmod(0o644)
    result = manage(project, "secrets", "check")
    assert result.returncode == 1
    assert "chmod 600 .dlt/secrets.toml" in result.stdout
    assert "1 problem(s) need action" in result.stderr


def test_check_reports_malformed_file(store):
    """A file that does not parse is a problem naming its line and column."""
    store.path.parent.mkdir(parents=True)
    store.path.write_text("[sources\n")
    (store.project_root / ".gitignore").write_text(".dlt/secrets.toml\n.dlt/.secrets.toml.*\n.env\n")
    with pytest.raises(CommandError):
        out = io.StringIO()
        call_command("secrets", "check", stdout=out)
    assert "line 1, column" in out.getvalue()


def test_check_reports_oauth_sources(store, settings):
    """check shows token expiry and status, and fails when a Google source must be reconnected."""
    store_google_token(
        "sheets", client_id="id", client_secret="canary-1", refresh_token="canary-2", access_token="canary-3", expires_in=3600
    )
    output = run("check")
    assert "google: connected; token expires" in output
    assert "canary-3" not in output

    store.set("dango.oauth.sheets.status", Status.RECONNECT_REQUIRED)
    with pytest.raises(CommandError):
        out = io.StringIO()
        call_command("secrets", "check", stdout=out)
    assert "reconnect the source" in out.getvalue()
    assert load_state("sheets").status == Status.RECONNECT_REQUIRED


def test_check_reports_failing_refresh_after_expiry(store):
    """A refresh that keeps failing is a problem once the access token has expired."""
    store_google_token("sheets", client_id="id", client_secret="canary-1", refresh_token="canary-2")
    store.set("dango.oauth.sheets.last_error", "http_503")
    store.set("dango.oauth.sheets.last_error_at", timezone.now().replace(microsecond=0) - timedelta(minutes=5))
    with pytest.raises(CommandError):
        out = io.StringIO()
        call_command("secrets", "check", stdout=out)
    assert "Refreshing the access token fails (http_503" in out.getvalue()


def test_check_reports_missing_ignore_rules(store):
    """A secrets file written by hand, without .gitignore rules, is a problem; check changes nothing."""
    store.path.parent.mkdir(parents=True, mode=0o700)
    store.path.write_text('[sources.stripe]\napi_key = "x"\n')
    store.path.chmod(0o600)
    with pytest.raises(CommandError):
        out = io.StringIO()
        call_command("secrets", "check", stdout=out)
    assert ".gitignore does not cover .dlt/secrets.toml" in out.getvalue()
    assert ".gitignore does not cover .env" in out.getvalue()
    assert not (store.project_root / ".gitignore").exists()
