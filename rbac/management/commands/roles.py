from django.contrib.auth import get_user_model
from django.core.management import BaseCommand, CommandError
from django.db.models import Count, Q

from rbac.permissions import PERMISSIONS
from rbac.roles import ROLE_GROUP_NAMES, ROLE_PERMISSIONS, Role
from rbac.sync import find_drift, sync_roles


class Command(BaseCommand):
    help = (
        "Print the role x permission matrix and compare the role groups in the database with the "
        "registry. Exits with status 1 on any drift; --sync repairs it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--sync", action="store_true", help="Repair drift by restoring the registry's permissions.")

    def handle(self, *args, sync=False, **options):
        self._print_matrix()
        if sync:
            repaired = sync_roles()
            if repaired.is_clean:
                self.stdout.write("Role groups already matched the registry; nothing to repair.")
            else:
                self.stdout.write("Repaired this drift:")
                self._print_drift(repaired, self.stdout)
        report = find_drift()
        problems = self._print_drift(report) + self._print_role_holders()
        if problems:
            raise CommandError(f"{problems} problem(s) found. Run 'manage.py roles --sync' to repair role drift.")
        self.stdout.write(self.style.SUCCESS("Role groups match the registry; every active user holds one role."))

    def _print_matrix(self):
        roles = list(Role)
        width = max(len(name) for name in PERMISSIONS)
        header = "permission".ljust(width) + "  " + "  ".join(role.label.ljust(6) for role in roles)
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for name in PERMISSIONS:
            marks = "  ".join(("Y" if name in ROLE_PERMISSIONS[role] else "-").ljust(6) for role in roles)
            self.stdout.write(f"{name.ljust(width)}  {marks}")
        totals = "  ".join(str(len(ROLE_PERMISSIONS[role])).ljust(6) for role in roles)
        self.stdout.write(f"{'total'.ljust(width)}  {totals}")

    def _print_drift(self, report, out=None) -> int:
        # Drift goes to stderr as a problem, except when --sync lists what it repaired.
        out = out or self.stderr
        problems = 0
        for name in report.missing_permissions:
            out.write(f"Permission {name} is missing from the database.")
            problems += 1
        for name in report.stale_permissions:
            out.write(f"Permission {name} is in the database but not in the registry.")
            problems += 1
        for drift in report.roles:
            if drift.missing_group:
                out.write(f"Role group {drift.role.group_name} is missing.")
                problems += 1
                continue
            for name in drift.missing:
                out.write(f"Role {drift.role.label} lacks {name}.")
                problems += 1
            for name in drift.extra:
                out.write(f"Role {drift.role.label} carries {name}, which the registry does not give it.")
                problems += 1
        return problems

    def _print_role_holders(self) -> int:
        users = get_user_model().objects.filter(is_active=True).annotate(
            role_count=Count("groups", filter=Q(groups__name__in=ROLE_GROUP_NAMES))
        )
        problems = 0
        for user in users.exclude(role_count=1):
            self.stderr.write(f"Active user {user.email} holds {user.role_count} roles instead of exactly one.")
            problems += 1
        return problems
