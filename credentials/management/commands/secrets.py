import getpass
import sys

from django.core.management import BaseCommand, CommandError
from django.views.decorators.debug import sensitive_variables

from credentials.actions import delete_secret, get_store, parse_user_path, set_secret
from credentials.document import as_path
from credentials.exceptions import CredentialsError
from credentials.health import check_health, format_mode
from credentials.masking import mask_value
from credentials.paths import format_path


class Command(BaseCommand):
    help = (
        "Manage data-source secrets in .dlt/secrets.toml: list (masked), set, delete, check. "
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
