"""Settings of the audit app, each with its default.

AUDIT_LOG_PATH       path of the current log file (default <project>/.dango/logs/audit.jsonl)
AUDIT_LOG_MAX_BYTES  rotate once the current file reaches this size; 0 never rotates (default 50 MiB)
AUDIT_LOG_FSYNC      fsync after every record (default True)
AUDIT_USER_AGENT_MAX_LENGTH  user agents are cut to this many characters (default 256)
"""

from pathlib import Path

from django.conf import settings


def _setting(name: str, default):
    return getattr(settings, name, default)


def log_path() -> Path:
    # STATE_DIR is Dango's project state folder; another project gets ./.dango.
    state_dir = _setting("STATE_DIR", Path.cwd() / ".dango")
    default = Path(state_dir) / "logs" / "audit.jsonl"
    return Path(_setting("AUDIT_LOG_PATH", default))


def max_bytes() -> int:
    return int(_setting("AUDIT_LOG_MAX_BYTES", 50 * 1024 * 1024))


def fsync() -> bool:
    return bool(_setting("AUDIT_LOG_FSYNC", True))


def user_agent_max_length() -> int:
    return int(_setting("AUDIT_USER_AGENT_MAX_LENGTH", 256))
