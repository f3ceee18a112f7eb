"""Checks that the deployment's secret files stay private and out of git.

Git is asked directly (``git check-ignore``, ``git ls-files``) rather than
reading .gitignore, so nested ignore files, global excludes and negated
patterns count as git counts them. Without git installed, or outside a git
work tree, the git checks have nothing to protect and stay quiet.
"""

import shutil
import stat
import subprocess
from pathlib import Path

from django.core.checks import Error, Tags, register
from django.core.checks import Warning as CheckWarning

from hardening import conf

E101 = "dango.E101"
E102 = "dango.E102"
E103 = "dango.E103"
W104 = "dango.W104"

# Files that hold secrets, relative to the project folder.
SECRET_FILES = (".dlt/secrets.toml", ".dango/secret_key")
# Paths whose content must never be committed: secrets, the database, the audit log.
UNTRACKED_PATHS = (".dlt/secrets.toml", ".dango", ".env")
GIT_TIMEOUT_SECONDS = 10


@register(Tags.security, deploy=True)
def check_secret_file_permissions(app_configs, **kwargs) -> list:
    root = conf.get_project_root()
    if root is None:
        return []
    messages = []
    for relative in SECRET_FILES:
        path = root / relative
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        except OSError as error:
            messages.append(
                CheckWarning(
                    f"Could not read the permissions of {path}: {error.strerror}.",
                    hint="Run the check as the user that runs Dango.",
                    obj=str(path),
                    id=W104,
                )
            )
            continue
        if mode & 0o077:
            messages.append(
                Error(
                    f"{path} has mode {mode:04o}, so other users on this server can read or change it.",
                    hint=f"Run: chmod 600 {path}",
                    obj=str(path),
                    id=E101,
                )
            )
    return messages


def _run_git(root: Path, *args: str) -> subprocess.CompletedProcess | None:
    git = shutil.which("git")
    if git is None:
        return None
    return subprocess.run(
        [git, "-C", str(root), *args],
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT_SECONDS,
        check=False,
    )


def _git_failure(root: Path, result: subprocess.CompletedProcess) -> CheckWarning:
    detail = (result.stderr.strip().splitlines() or ["no output"])[0]
    return CheckWarning(
        f"Could not ask git whether the secret files in {root} are protected: {detail}",
        hint="Fix the git error above (for 'dubious ownership', run the check as the folder's owner).",
        obj=str(root),
        id=W104,
    )


def _git_work_tree_status(root: Path) -> bool | CheckWarning:
    """Return whether ``root`` is inside a git work tree, or the warning when git fails."""
    if not root.is_dir():
        return False
    result = _run_git(root, "rev-parse", "--is-inside-work-tree")
    if result is None:
        return False
    if result.returncode == 0:
        return result.stdout.strip() == "true"
    if "not a git repository" in result.stderr:
        return False
    return _git_failure(root, result)


@register(Tags.security, deploy=True)
def check_secrets_in_git(app_configs, **kwargs) -> list:
    root = conf.get_project_root()
    if root is None:
        return []
    status = _git_work_tree_status(root)
    if isinstance(status, CheckWarning):
        return [status]
    if not status:
        return []

    messages = []
    for relative in SECRET_FILES:
        # --no-index checks the ignore rules alone, so a file that is tracked
        # despite a matching rule counts as ignored here. The ls-files check
        # below reports it.
        result = _run_git(root, "check-ignore", "--no-index", "-q", "--", relative)
        if result.returncode == 1:
            messages.append(
                Error(
                    f"{relative} is not ignored by git in {root}: a `git add .` would commit it.",
                    hint=f"Add the line '{relative}' to {root / '.gitignore'}.",
                    obj=str(root / relative),
                    id=E102,
                )
            )
        elif result.returncode != 0:
            return [_git_failure(root, result)]

    result = _run_git(root, "ls-files", "--", *UNTRACKED_PATHS)
    if result.returncode != 0:
        return [*messages, _git_failure(root, result)]
    tracked = result.stdout.split("\n")
    tracked = [path for path in tracked if path]
    if tracked:
        listed = ", ".join(tracked[:5]) + (f" and {len(tracked) - 5} more" if len(tracked) > 5 else "")
        messages.append(
            Error(
                f"Git tracks files that contain secrets or runtime state in {root}: {listed}.",
                hint=(
                    "Run `git rm --cached` on them, ignore them, and treat every secret they held as leaked: "
                    "rotate the keys and tokens, since git history keeps the old content."
                ),
                obj=str(root),
                id=E103,
            )
        )
    return messages
