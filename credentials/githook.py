"""Install and remove the pre-commit hook that runs ``secrets scan --staged``.

A hook that was there before is kept: it is renamed to ``pre-commit.pre-dango``
and our hook runs it after a clean scan, passing on its exit status.
Uninstalling removes only a hook that carries our marker line and puts the
earlier one back.
"""

import os
import shlex
import stat
import subprocess
from pathlib import Path

MARKER = "# dango-secrets-scan pre-commit hook"
CHAINED_NAME = "pre-commit.pre-dango"


class HookError(Exception):
    pass


def hooks_directory(repo_root: Path) -> Path:
    """Return the folder git runs hooks from, honouring core.hooksPath."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--git-path", "hooks"], cwd=repo_root, capture_output=True, check=True, text=True
        )
    except (FileNotFoundError, subprocess.CalledProcessError) as error:
        raise HookError(f"{repo_root} is not a git repository (git rev-parse failed: {error}).") from None
    path = Path(result.stdout.strip())
    return path if path.is_absolute() else repo_root / path


def render_hook(python: str, manage_py: Path, project_root: Path) -> str:
    chained = shlex.quote(CHAINED_NAME)
    return f"""#!/bin/sh
{MARKER}
# Refuses the commit when the staged changes contain a secret. Review a false
# positive, then add its fingerprint to .secrets-allowlist.
DANGO_PROJECT_ROOT={shlex.quote(str(project_root))} {shlex.quote(python)} {shlex.quote(str(manage_py))} secrets scan --staged --repo "$(git rev-parse --show-toplevel)" || exit 1
hook_dir=$(dirname "$0")
if [ -x "$hook_dir/"{chained} ]; then
    exec "$hook_dir/"{chained} "$@"
fi
exit 0
"""


def is_our_hook(path: Path) -> bool:
    try:
        return MARKER in path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return False


def install(repo_root: Path, python: str, manage_py: Path, project_root: Path) -> str:
    """Install the hook and return a sentence describing what was done."""
    hooks = hooks_directory(repo_root)
    hooks.mkdir(parents=True, exist_ok=True)
    hook = hooks / "pre-commit"
    chained = hooks / CHAINED_NAME
    message = f"Installed the secrets pre-commit hook at {hook}."
    if hook.exists() and not is_our_hook(hook):
        if chained.exists():
            raise HookError(
                f"{hook} is not ours and {chained} already exists, so the existing hook cannot be kept. "
                "Merge them by hand, then run install-hook again."
            )
        os.replace(hook, chained)
        message += f" The existing hook was kept as {chained.name} and runs after the scan."
    elif hook.exists():
        message = f"Updated the secrets pre-commit hook at {hook}."
    temporary = hooks / "pre-commit.dango-tmp"
    temporary.write_text(render_hook(python, manage_py, project_root), encoding="utf-8")
    temporary.chmod(temporary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    os.replace(temporary, hook)
    return message


def uninstall(repo_root: Path) -> str:
    hooks = hooks_directory(repo_root)
    hook = hooks / "pre-commit"
    chained = hooks / CHAINED_NAME
    if not hook.exists():
        raise HookError(f"No pre-commit hook is installed in {hooks}.")
    if not is_our_hook(hook):
        raise HookError(f"{hook} was not installed by Dango; it was left untouched.")
    hook.unlink()
    if chained.exists():
        os.replace(chained, hook)
        return f"Removed the secrets hook and restored the earlier hook at {hook}."
    return f"Removed the secrets hook from {hooks}."
