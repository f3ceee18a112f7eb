import getpass
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import BaseCommand, CommandError
from django.views.decorators.debug import sensitive_variables

from credentials.actions import delete_secret, get_store, parse_user_path, set_secret
from credentials.document import as_path
from credentials.exceptions import CredentialsError
from credentials.health import check_health, format_mode
from credentials.masking import mask_value
from credentials.paths import format_path
from credentials import githook, scanner


class Command(BaseCommand):
    # The actions work on files and git only; the pre-commit hook runs this
    # command on every commit, so skip the system checks and their queries.
    requires_system_checks = []

    help = (
        "Manage data-source secrets in .dlt/secrets.toml: list (masked), set, delete, check; "
        "keep secrets out of git: scan, install-hook. "
        "Values are read from a prompt or standard input, never from the command line."
    )

    # Each action is a subparser and a handle_<action> method (dashes become
    # underscores), so a new action needs only those two.
    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        listing = actions.add_parser("list", help="List sources and their keys with masked values.")
        listing.add_argument("--source", help="Only this group, for example sources.stripe.")

        set_parser = actions.add_parser(
            "set", help="Set a value; asks for it twice without echo, or reads it from standard input."
        )
        set_parser.add_argument("path", help="Dotted path, for example sources.stripe.api_key.")
        set_parser.add_argument(
            "--stdin",
            action="store_true",
            help="Read the value from standard input (one trailing line break is dropped). "
            "Implied when standard input is not a terminal.",
        )

        delete = actions.add_parser("delete", help="Delete a value, or a table with everything in it.")
        delete.add_argument("path", help="Dotted path, for example sources.stripe.api_key or sources.stripe.")
        delete.add_argument("--yes", action="store_true", help="Confirm the deletion; required.")

        actions.add_parser(
            "check",
            help="Report file mode, git status and per-source token health; exit status 1 when something needs action.",
        )

        scan = actions.add_parser(
            "scan",
            help="Look for secrets in the files git tracks (or only the staged changes, or all history); "
            "exit status 1 on any finding not in .secrets-allowlist.",
        )
        scope = scan.add_mutually_exclusive_group()
        scope.add_argument("--staged", action="store_true", help="Scan only the staged changes (what the hook uses).")
        scope.add_argument("--history", action="store_true", help="Also scan every commit on every branch.")
        scan.add_argument("--repo", help="Repository to scan (default: the one holding the project folder).")

        hook = actions.add_parser(
            "install-hook",
            help="Install a git pre-commit hook that runs 'secrets scan --staged'; an existing hook is kept and chained.",
        )
        hook.add_argument("--repo", help="Repository to install into (default: the one holding the project folder).")
        hook.add_argument("--uninstall", action="store_true", help="Remove our hook and restore the earlier one.")

    def handle(self, *args, action, **options):
        handler = getattr(self, "handle_" + action.replace("-", "_"))
        try:
            handler(**options)
        except CredentialsError as error:
            raise CommandError(str(error)) from None

    def handle_list(self, source=None, **options):
        store = get_store()
        groups = store.groups()
        if source:
            group_path = as_path(source)
            if len(group_path) == 1 and ("sources",) + group_path in groups:
                group_path = ("sources",) + group_path
            groups = {group: values for group, values in groups.items() if group == group_path}
            if not groups:
                raise CommandError(f"No values are stored under {source}. Run 'manage.py secrets list' to see all.")
        if not groups:
            self.stdout.write(f"No secrets are stored in {store.display_name}.")
            return
        for group, values in groups.items():
            self.stdout.write(format_path(group))
            for stored in values:
                self.stdout.write(f"  {stored.key:40} {mask_value(stored.value)}")

    @sensitive_variables("value", "again")
    def handle_set(self, path, stdin=False, **options):
        key_path = parse_user_path(path)
        if stdin or not sys.stdin.isatty():
            value = sys.stdin.read()
            if value.endswith("\r\n"):
                value = value[:-2]
            elif value.endswith("\n"):
                value = value[:-1]
        else:
            value = getpass.getpass(f"Value for {format_path(key_path)}: ")
            again = getpass.getpass("Enter it again: ")
            if value != again:
                raise CommandError("The two entries differ; nothing was stored. Run the command again.")
        if not value:
            raise CommandError("The value is empty; nothing was stored. To remove a key, use 'secrets delete'.")
        created = set_secret(key_path, value)
        self.stdout.write(f"{'Added' if created else 'Changed'} {format_path(key_path)} ({mask_value(value)}).")

    def handle_delete(self, path, yes=False, **options):
        key_path = parse_user_path(path)
        if not yes:
            raise CommandError(f"Deleting {format_path(key_path)} needs --yes; nothing was deleted.")
        delete_secret(key_path)
        self.stdout.write(f"Deleted {format_path(key_path)}.")

    def handle_check(self, **options):
        report = check_health(get_store())
        self.stdout.write(f"File: {report.path}{'' if report.exists else ' (not created yet)'}")
        self.stdout.write(f"  mode {format_mode(report.file_mode)}, folder mode {format_mode(report.folder_mode)}")
        git = report.git
        if not git.in_git_work_tree:
            self.stdout.write("  not in a git work tree; checked the project's .gitignore")
        self.stdout.write(f"  git: {'ignored, not tracked' if git.is_safe else 'needs action'}")
        for problem in report.problems:
            self.stdout.write(f"  PROBLEM: {problem}")
        for source in report.sources:
            self.stdout.write(source.name)
            self.stdout.write(f"  keys: {', '.join(source.keys) or '-'}")
            if source.oauth is not None:
                oauth = source.oauth
                expires = oauth.expires_at.isoformat() if oauth.expires_at else "-"
                refreshed = oauth.last_refresh_at.isoformat() if oauth.last_refresh_at else "never"
                self.stdout.write(f"  google: {oauth.status}; token expires {expires}; last refresh {refreshed}")
            for problem in source.problems:
                self.stdout.write(f"  PROBLEM: {problem}")
        if report.needs_action:
            raise CommandError(f"{report.problem_count} problem(s) need action; see PROBLEM lines above.")
        self.stdout.write(self.style.SUCCESS("Nothing needs action."))

    def _repository(self, repo: str | None) -> Path:
        start = Path(repo) if repo else Path(settings.PROJECT_ROOT)
        if not start.is_dir():
            raise CommandError(f"{start} is not a folder. Give --repo the path of a git work tree.")
        try:
            return scanner.repository_root(start)
        except scanner.GitError as error:
            raise CommandError(f"{start} is not inside a git work tree: {error}") from None

    def handle_scan(self, staged=False, history=False, repo=None, **options):
        root = self._repository(repo)
        known = [stored.value for stored in get_store().values() if isinstance(stored.value, str)]
        try:
            if staged:
                findings = list(scanner.scan_staged(root, known))
                scope = "staged changes"
            else:
                findings = list(scanner.scan_tracked(root, known))
                scope = "tracked files"
                if history:
                    findings += list(scanner.scan_history(root, known))
                    scope = "tracked files and history"
        except scanner.GitError as error:
            raise CommandError(str(error)) from None

        allowlist = scanner.load_allowlist(root)
        remaining = scanner.unreviewed(findings, allowlist)
        for finding in remaining:
            self.stdout.write(finding.format())
        allowed = len(findings) - len(remaining)
        note = f" ({allowed} allowlisted)" if allowed else ""
        if remaining:
            raise CommandError(
                f"Found {len(remaining)} possible secret(s) in the {scope} of {root}{note}. Remove them "
                f"(and rotate any real secret that was committed), or add a reviewed false positive's "
                f"fingerprint to {scanner.ALLOWLIST_FILE}."
            )
        self.stdout.write(self.style.SUCCESS(f"No secrets found in the {scope} of {root}{note}."))

    def handle_install_hook(self, repo=None, uninstall=False, **options):
        root = self._repository(repo)
        try:
            if uninstall:
                message = githook.uninstall(root)
            else:
                manage_py = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0].endswith("manage.py") else (
                    Path(settings.BASE_DIR) / "manage.py"
                )
                message = githook.install(root, sys.executable, manage_py, Path(settings.PROJECT_ROOT))
        except githook.HookError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(message)
