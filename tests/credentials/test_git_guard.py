"""The pre-commit hook and `secrets scan` in real git repositories."""

import io
import os
import secrets as random_secrets
import subprocess
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from credentials import githook, scanner

pytestmark = pytest.mark.django_db

STORE_VALUE = "sk_live_" + "Q7w9" + "Zr2KpX4mN8vB3cT6yH1j"
PASSWORD_VALUE = "Tr1cky-Pa55-" + "wordXq"


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dango_site.settings", "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=check, env=env)


@pytest.fixture
def repo(tmp_path, settings):
    """A git repository that is also the project folder, with one value in the store."""
    root = tmp_path / "project"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.email", "dev@example.com")
    _git(root, "config", "user.name", "Dev")
    (root / "README.md").write_text("# Data project\n")
    _git(root, "add", "README.md")
    _git(root, "commit", "-q", "-m", "Start")
    (root / ".dlt").mkdir(mode=0o700)
    (root / ".dlt" / "secrets.toml").write_text(f'[sources.stripe]\napi_key = "{STORE_VALUE}"\n')
    settings.PROJECT_ROOT = root
    return root


@pytest.fixture
def hooked(repo):
    call_command("secrets", "install-hook", "--repo", str(repo), stdout=io.StringIO())
    return repo


def _commit(repo: Path, path: str, content: str) -> subprocess.CompletedProcess:
    file = repo / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(content)
    _git(repo, "add", "-f", path)
    return _git(repo, "commit", "-m", f"Add {path}", check=False)


def _output(result: subprocess.CompletedProcess) -> str:
    # git runs hooks with their standard output sent to standard error.
    return result.stdout + result.stderr


def _assert_refused(result: subprocess.CompletedProcess, *planted: str) -> None:
    assert result.returncode != 0
    output = _output(result)
    assert "possible secret" in output
    for value in planted:
        assert value not in output


def test_hook_refuses_secrets_toml(hooked):
    result = _commit(hooked, ".dlt/secrets.toml", f'[sources.stripe]\napi_key = "{STORE_VALUE}"\n')
    _assert_refused(result, STORE_VALUE)
    assert "forbidden-file" in _output(result)


def test_hook_refuses_env_with_password(hooked):
    result = _commit(hooked, ".env", f"DB_PASSWORD={PASSWORD_VALUE}\n")
    _assert_refused(result, PASSWORD_VALUE)


def test_hook_refuses_dango_api_key(hooked):
    key = "dango_ak_" + random_secrets.token_urlsafe(32)
    result = _commit(hooked, "scripts/load.py", f'API_KEY = "{key}"\n')
    _assert_refused(result, key)
    assert "dango-api-key" in _output(result)


def test_hook_refuses_value_from_store(hooked):
    result = _commit(hooked, "notes.txt", f"the stripe key is {STORE_VALUE}\n")
    _assert_refused(result, STORE_VALUE)
    assert "store-value" in _output(result)


def test_hook_passes_clean_commit(hooked):
    result = _commit(hooked, "models/orders.sql", "select id, amount from orders\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Add models/orders.sql" in _git(hooked, "log", "--oneline").stdout


def test_allowlisted_finding_passes(hooked):
    content = 'client_secret = "Gx7-Example-Value-99Zq"\n'
    refused = _commit(hooked, "fixtures/sample.py", content)
    assert refused.returncode != 0
    fingerprint = _output(refused).split("(fingerprint ")[1].split(")")[0]
    (hooked / scanner.ALLOWLIST_FILE).write_text(f"{fingerprint}  # reviewed: sample value in a fixture\n")
    _git(hooked, "add", scanner.ALLOWLIST_FILE)
    result = _git(hooked, "commit", "-m", "Add sample fixture", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Gx7-Example-Value-99Zq" not in (hooked / scanner.ALLOWLIST_FILE).read_text()


def test_history_finds_removed_secret(repo):
    key = "dango_ak_" + random_secrets.token_urlsafe(32)
    (repo / "load.py").write_text(f'KEY = "{key}"\n')
    _git(repo, "add", "load.py")
    _git(repo, "commit", "-q", "-m", "Add loader")
    (repo / "load.py").write_text('KEY = os.environ["DANGO_API_KEY"]\n')
    _git(repo, "commit", "-q", "-am", "Read the key from the environment")

    out = io.StringIO()
    call_command("secrets", "scan", "--repo", str(repo), stdout=out)
    assert "No secrets found" in out.getvalue()

    out = io.StringIO()
    with pytest.raises(CommandError, match="possible secret"):
        call_command("secrets", "scan", "--history", "--repo", str(repo), stdout=out)
    assert "load.py:1" in out.getvalue()
    assert key not in out.getvalue()


def test_scan_tracked_files(repo):
    (repo / "config.yml").write_text(f"stripe: {STORE_VALUE}\n")
    _git(repo, "add", "config.yml")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("secrets", "scan", "--repo", str(repo), stdout=out)
    assert "config.yml:1" in out.getvalue()
    assert STORE_VALUE not in out.getvalue()


def test_existing_hook_is_chained(repo):
    hooks = githook.hooks_directory(repo)
    hooks.mkdir(parents=True, exist_ok=True)
    marker = repo / "earlier-hook-ran"
    (hooks / "pre-commit").write_text(f"#!/bin/sh\ntouch {marker}\nexit 0\n")
    (hooks / "pre-commit").chmod(0o755)

    call_command("secrets", "install-hook", "--repo", str(repo), stdout=io.StringIO())
    assert (hooks / githook.CHAINED_NAME).exists()

    refused = _commit(repo, ".env", f"TOKEN={PASSWORD_VALUE}\n")
    assert refused.returncode != 0
    assert not marker.exists()

    _git(repo, "rm", "-q", "--cached", ".env")
    accepted = _commit(repo, "docs/readme.txt", "plain text\n")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert marker.exists()

    call_command("secrets", "install-hook", "--uninstall", "--repo", str(repo), stdout=io.StringIO())
    assert (hooks / "pre-commit").read_text().startswith("#!/bin/sh\ntouch")
    assert not (hooks / githook.CHAINED_NAME).exists()


def test_uninstall_leaves_foreign_hook(repo):
    hooks = githook.hooks_directory(repo)
    hooks.mkdir(parents=True, exist_ok=True)
    (hooks / "pre-commit").write_text("#!/bin/sh\nexit 0\n")
    with pytest.raises(CommandError, match="was not installed by Dango"):
        call_command("secrets", "install-hook", "--uninstall", "--repo", str(repo), stdout=io.StringIO())
    assert (hooks / "pre-commit").read_text() == "#!/bin/sh\nexit 0\n"


def test_scan_outside_git_fails_clearly(tmp_path):
    with pytest.raises(CommandError, match="not inside a git work tree"):
        call_command("secrets", "scan", "--repo", str(tmp_path), stdout=io.StringIO())
