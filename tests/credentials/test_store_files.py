"""File safety of the store: atomic writes, modes, locking and git ignore rules."""

import logging
import os
import random
import signal
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from credentials import files, gitignore
from credentials.exceptions import SecretsLockTimeout
from credentials.store import SecretsStore

REPO_ROOT = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def worker(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.credentials.workers", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077, 0o277])
def test_modes_whatever_the_umask(tmp_path, umask):
    """The file ends with mode 0600 and its folder with 0700 under any umask."""
    store = SecretsStore(tmp_path)
    previous = os.umask(umask)
    try:
        store.set("sources.stripe.api_key", "sk_value_for_modes")
        store.set("sources.stripe.api_key", "sk_second_value")
    finally:
        os.umask(previous)
    assert mode(store.path) == 0o600
    assert mode(store.path.parent) == 0o700


def test_write_tightens_loose_modes(tmp_path):
    """A file at 0644 in a folder at 0755 is tightened to 0600 and 0700 by the next write."""
    folder = tmp_path / ".dlt"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    secrets = folder / "secrets.toml"
    secrets.write_text('[sources.a]\nk = "v"\n')
    os.chmod(secrets, 0o644)
    SecretsStore(tmp_path).set("sources.a.k", "new-value")
    assert mode(secrets) == 0o600
    assert mode(folder) == 0o700


def test_write_replaces_the_file_by_rename(store):
    """A write goes through a new inode, so a reader with the old file open reads the old version."""
    store.set("sources.a.k", "first-value")
    with open(store.path, "rb") as reader:
        old_inode = os.fstat(reader.fileno()).st_ino
        store.set("sources.a.k", "second-value")
        assert reader.read() == b'[sources.a]\nk = "first-value"\n'
    assert store.path.stat().st_ino != old_inode
    assert store.path.read_bytes() == b'[sources.a]\nk = "second-value"\n'


def test_lock_timeout_when_another_writer_holds_it(store):
    """A writer that cannot get the lock in time raises SecretsLockTimeout and writes nothing."""
    store.set("sources.a.k", "kept-value")
    impatient = SecretsStore(store.project_root, lock_timeout=0.2)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from credentials import files; from pathlib import Path\n"
            "with files.locked(Path(sys.argv[1]), 5):\n"
            "    print('locked', flush=True); time.sleep(30)",
            str(store.path),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(SecretsLockTimeout) as caught:
            impatient.set("sources.a.k", "lost-value")
        assert "more than 0.2 seconds" in str(caught.value)
    finally:
        holder.kill()
        holder.wait()
    assert store.get("sources.a.k") == "kept-value"


def test_concurrent_writers_lose_nothing(store):
    """Four processes adding keys at once all see their keys in the final file."""
    processes = [worker("set-many", str(store.project_root), f"p{index}", "10") for index in range(4)]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    data = tomllib.loads(store.path.read_text(encoding="utf-8"))
    for index in range(4):
        assert data["sources"][f"p{index}"] == {f"key{k}": f"value-p{index}-{k}" for k in range(10)}


def test_killed_writer_leaves_old_or_new_version(store):
    """Killing a writer at random moments, many times, always leaves a whole version with mode 0600.

    Each kill happens at a random delay while the writer rewrites the file in
    a loop. A temp file left behind proves that a kill landed inside a write.
    With 40 kills at least one does: a trial run saw 18 of 60 kills land
    inside a write. The next writer removes the leftovers.
    """
    root = str(store.project_root)
    rng = random.Random(20240601)
    last_version = 0
    kills_inside_write = 0
    for _ in range(40):
        process = worker("write-loop", root)
        assert process.stdout.readline().strip() == "ready", process.stderr.read()
        time.sleep(rng.uniform(0.02, 0.35))
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
        process.stderr.close()

        if not store.path.exists():
            assert last_version == 0
            continue
        data = tomllib.loads(store.path.read_text(encoding="utf-8"))
        big = data["sources"]["big"]
        assert big["payload"] == f"{big['counter']}:" + "x" * 2000
        assert big["counter"] >= last_version
        last_version = big["counter"]
        assert mode(store.path) == 0o600
        if list(store.path.parent.glob(".secrets.toml.*.tmp")):
            kills_inside_write += 1

    assert last_version > 0
    assert kills_inside_write >= 1
    store.set("sources.big.note", "after the kills")
    assert list(store.path.parent.glob(".secrets.toml.*.tmp")) == []


def test_stale_temp_files_are_removed_under_the_lock(store, caplog):
    """Temp files from an interrupted write are deleted by the next write, with a warning."""
    store.set("sources.a.k", "value-one")
    stale = store.path.parent / ".secrets.toml.abc123.tmp"
    stale.write_text("half a file")
    with caplog.at_level(logging.WARNING, logger="credentials"):
        store.set("sources.a.k", "value-two")
    assert not stale.exists()
    assert "left behind by an interrupted write" in caplog.text


def test_lock_files_are_private(store):
    """Lock files are created with mode 0600 too."""
    store.set("sources.a.k", "value-one")
    lock = files.lock_path(store.path)
    assert lock.exists()
    assert mode(lock) == 0o600


# Git ignore rules


def test_gitignore_created_outside_git(store):
    """Outside a git work tree the project's .gitignore gets the secret patterns once."""
    store.set("sources.a.k", "value-one")
    store.set("sources.a.k", "value-two")
    lines = (store.project_root / ".gitignore").read_text().splitlines()
    for pattern in gitignore.IGNORE_PATTERNS:
        assert lines.count(pattern) == 1


def test_gitignore_appended_in_its_style(store):
    """An existing CRLF .gitignore without a final line break keeps its lines and its line endings."""
    ignore = store.project_root / ".gitignore"
    ignore.write_bytes(b"node_modules/\r\n.env")
    store.set("sources.a.k", "value-one")
    raw = ignore.read_bytes()
    assert raw.startswith(b"node_modules/\r\n.env\r\n")
    assert raw.count(b"\n") == raw.count(b"\r\n")
    assert raw.count(b".env\r\n") == 1
    assert b".dlt/secrets.toml\r\n" in raw


def git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        capture_output=True,
        text=True,
        check=True,
    )


def test_git_tracked_secrets_warn(store, caplog):
    """A secrets file that git already tracks is reported with the command that stops tracking it."""
    root = store.project_root
    git(root, "init", "-q")
    store.path.parent.mkdir()
    store.path.write_text('[sources.a]\nk = "committed-value"\n')
    git(root, "add", "-f", ".dlt/secrets.toml")
    git(root, "commit", "-q", "-m", "oops")

    with caplog.at_level(logging.WARNING, logger="credentials"):
        store.set("sources.a.k", "value-two")
    assert ".dlt/secrets.toml is tracked by git" in caplog.text
    assert "git rm --cached .dlt/secrets.toml" in caplog.text
    status = gitignore.check_git_status(root)
    assert status.in_git_work_tree
    assert status.tracked == [".dlt/secrets.toml"]
    assert status.not_ignored == []


def test_git_rules_elsewhere_are_respected(store):
    """Inside git, a pattern that already covers the files (here '.dlt/' and '.env*') adds nothing."""
    root = store.project_root
    git(root, "init", "-q")
    (root / ".gitignore").write_text(".dlt/\n.env*\n")
    store.set("sources.a.k", "value-one")
    assert (root / ".gitignore").read_text() == ".dlt/\n.env*\n"
    assert gitignore.check_git_status(root).is_safe
