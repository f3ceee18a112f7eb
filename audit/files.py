"""Names of the files that make up one audit log.

The current file is ``<name>``; rotated files are ``<name>.000001``,
``<name>.000002``, … (oldest first) and ``<name>.lock`` is the lock file.
"""

import re
from pathlib import Path

ROTATED_SUFFIX = re.compile(r"^\.(\d{6,})$")


def lock_path_for(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def rotated_files(path: Path) -> list[Path]:
    """Return the rotated files of ``path``, oldest first."""
    found = []
    if path.parent.is_dir():
        for candidate in path.parent.iterdir():
            if candidate.name.startswith(path.name):
                match = ROTATED_SUFFIX.match(candidate.name[len(path.name):])
                if match:
                    found.append((int(match.group(1)), candidate))
    return [file for _, file in sorted(found)]


def all_log_files(path: Path) -> list[Path]:
    """Return rotated files oldest first, then the current file if it exists."""
    files = rotated_files(path)
    if path.exists():
        files.append(path)
    return files
