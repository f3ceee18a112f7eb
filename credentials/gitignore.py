"""Keep the secrets file and ``.env`` out of git.

Inside a git work tree, ``git check-ignore`` decides whether a path is
covered, so global excludes and nested ``.gitignore`` files count. Outside
one (or without git), the project's ``.gitignore`` must list the pattern
itself. Missing patterns are appended to ``<project root>/.gitignore``.
"""

import logging
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger("credentials")

# Paths relative to the project root. The second pattern covers the lock and
# temp files written next to secrets.toml.
PROTECTED_PATHS = (".dlt/secrets.toml", ".env")
IGNORE_PATTERNS = (".dlt/secrets.toml", ".dlt/.secrets.toml.*", ".env")
_PATTERN_EXAMPLES = {".dlt/.secrets.toml.*": ".dlt/.secrets.toml.lock"}
GIT_TIMEOUT_SECONDS = 10
HEADER_COMMENT = "# Source credentials and local environment: never commit them."


@dataclass
class GitStatus:
    """Ignore and tracking status of the protected paths."""

    in_git_work_tree: bool
    not_ignored: list[str] = field(default_factory=list)
    tracked: list[str] = field(default_factory=list)

    @property
    def is_safe(self) -> bool:
        return not self.not_ignored and not self.tracked


def _git(project_root: Path, *args: str) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(
            ["git", "-C", str(project_root), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (FileNotFoundError, subprocess.TimeoutExpired) as error:
        logger.warning("Cannot run git in %s to check the ignore rules: %s", project_root, error)
        return None


def _in_work_tree(project_root: Path) -> bool:
    result = _git(project_root, "rev-parse", "--is-inside-work-tree")
    return result is not None and result.returncode == 0 and result.stdout.strip() == "true"


def _listed_patterns(project_root: Path) -> set[str]:
    try:
        lines = (project_root / ".gitignore").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return set()
    return {line.strip().lstrip("/") for line in lines if line.strip() and not line.startswith("#")}


def _is_ignored(project_root: Path, pattern: str, in_work_tree: bool) -> bool:
    if not in_work_tree:
        return pattern in _listed_patterns(project_root)
    example = _PATTERN_EXAMPLES.get(pattern, pattern)
    # --no-index checks the patterns even for files git already tracks.
    result = _git(project_root, "check-ignore", "--quiet", "--no-index", example)
    return result is not None and result.returncode == 0


def _tracked(project_root: Path) -> list[str]:
    result = _git(project_root, "ls-files", "--", *PROTECTED_PATHS)
    if result is None or result.returncode != 0:
        return []
    return [line for line in result.stdout.splitlines() if line]


def check_git_status(project_root: Path) -> GitStatus:
    """Report which protected paths are not ignored and which are tracked, changing nothing."""
    in_work_tree = _in_work_tree(project_root)
    status = GitStatus(in_git_work_tree=in_work_tree)
    status.not_ignored = [p for p in IGNORE_PATTERNS if not _is_ignored(project_root, p, in_work_tree)]
    if in_work_tree:
        status.tracked = _tracked(project_root)
    return status


def ensure_ignored(project_root: Path) -> GitStatus:
    """Append missing patterns to the project's .gitignore; warn about files git already tracks."""
    status = check_git_status(project_root)
    if status.not_ignored:
        target = project_root / ".gitignore"
        try:
            _append_patterns(target, status.not_ignored)
        except (OSError, UnicodeDecodeError) as error:
            # The secret is already written; an ignore file we cannot update
            # is reported, and the health check keeps listing it.
            logger.warning("Cannot add %s to %s: %s. Add them by hand.", ", ".join(status.not_ignored), target, error)
            return status
        logger.info("Added %s to %s", ", ".join(status.not_ignored), target)
        status = check_git_status(project_root)
    for path in status.tracked:
        logger.warning(
            "%s is tracked by git, so its secrets are in the repository history. Stop tracking it with "
            "'git rm --cached %s' and rotate every secret it ever contained.",
            path,
            path,
        )
    return status


def _append_patterns(gitignore: Path, patterns: list[str]) -> None:
    try:
        existing = gitignore.read_bytes().decode("utf-8")
    except FileNotFoundError:
        existing = ""
    newline = "\r\n" if "\r\n" in existing else "\n"
    addition = ""
    if existing and not existing.endswith("\n"):
        addition += newline
    if HEADER_COMMENT not in existing:
        addition += HEADER_COMMENT + newline
    addition += newline.join(patterns) + newline
    with open(gitignore, "a", encoding="utf-8", newline="") as handle:
        handle.write(addition)
