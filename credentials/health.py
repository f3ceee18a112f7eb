"""Credential health: what is stored per source and what needs action.

A problem is something an operator must fix. The file-level problems are a
file or folder readable by others, secrets not ignored or already tracked
by git, and a file that does not parse. A Google source has a problem when
it must be reconnected, lacks a key, or keeps failing to refresh after its
access token expired.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from credentials import files, gitignore
from credentials.exceptions import CredentialsError
from credentials.oauth_state import Status, TokenState, TokenSummary, oauth_source_names
from credentials.paths import format_path
from credentials.store import SecretsStore


@dataclass
class SourceHealth:
    name: str
    keys: list[str]
    oauth: TokenSummary | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def token_expired(self) -> bool | None:
        if self.oauth is None or self.oauth.expires_at is None:
            return None
        return self.oauth.expires_at <= timezone.now()


@dataclass
class HealthReport:
    path: str
    exists: bool
    file_mode: int | None
    folder_mode: int | None
    git: gitignore.GitStatus
    sources: list[SourceHealth] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def needs_action(self) -> bool:
        return bool(self.problems) or any(source.problems for source in self.sources)

    @property
    def problem_count(self) -> int:
        return len(self.problems) + sum(len(source.problems) for source in self.sources)


def format_mode(mode: int | None) -> str:
    return "-" if mode is None else f"{mode:04o}"


def _oauth_problems(state: TokenSummary, now: datetime) -> list[str]:
    problems = []
    if state.status == Status.RECONNECT_REQUIRED:
        problems.append("Google rejected the refresh token (revoked or expired): reconnect the source.")
    elif state.status == Status.INVALID_CLIENT:
        problems.append("Google rejected the client_id/client_secret: correct them and reconnect the source.")
    if state.missing_keys:
        problems.append(f"Missing {', '.join(state.missing_keys)} in sources.{state.source}.credentials: reconnect.")
    expired = state.expires_at is None or state.expires_at <= now
    if state.status == Status.CONNECTED and state.last_error and expired:
        since = state.last_error_at.isoformat() if state.last_error_at else "an unknown time"
        problems.append(f"Refreshing the access token fails ({state.last_error}, last at {since}); check the network.")
    return problems


def check_health(store: SecretsStore) -> HealthReport:
    """Inspect the store without changing anything."""
    folder = store.path.parent
    report = HealthReport(
        path=str(store.path),
        exists=store.exists(),
        file_mode=files.file_mode(store.path),
        folder_mode=files.file_mode(folder),
        git=gitignore.check_git_status(store.project_root),
    )
    display = store.display_name
    if report.file_mode is not None and report.file_mode != files.FILE_MODE:
        report.problems.append(
            f"{display} has mode {format_mode(report.file_mode)}, so other users may read it: run chmod 600 {display}."
        )
    if report.folder_mode is not None and report.folder_mode != files.FOLDER_MODE:
        report.problems.append(
            f"{folder.name}/ has mode {format_mode(report.folder_mode)}: run chmod 700 {folder.name}."
        )
    for pattern in report.git.not_ignored:
        report.problems.append(f".gitignore does not cover {pattern}: add it (Dango adds it on the next write).")
    for tracked in report.git.tracked:
        report.problems.append(
            f"git tracks {tracked}: run git rm --cached {tracked} and rotate every secret it ever contained."
        )

    try:
        data = store.load()
    except CredentialsError as error:
        report.problems.append(str(error))
        return report

    now = timezone.now()
    oauth_names = oauth_source_names(data)
    for group, stored_values in store.groups().items():
        source = SourceHealth(name=format_path(group), keys=[stored.key for stored in stored_values])
        if group[0] == "sources" and len(group) == 2 and group[1] in oauth_names:
            source.oauth = TokenState.from_data(data, group[1]).summary()
            source.problems = _oauth_problems(source.oauth, now)
        report.sources.append(source)
    grouped = {source.name for source in report.sources}
    for name in oauth_names:
        if f"sources.{name}" not in grouped:
            state = TokenState.from_data(data, name).summary()
            report.sources.append(SourceHealth(f"sources.{name}", [], state, _oauth_problems(state, now)))
    return report
