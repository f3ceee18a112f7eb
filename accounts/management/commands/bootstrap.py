from django.core.management import BaseCommand, CommandError, call_command

from accounts.bootstrap import create_first_admin


class Command(BaseCommand):
    help = (
        "Prepare the project folder: apply database migrations and, when no active Admin exists, "
        "create one and print its one-time password once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--admin-email", help="Email of the first Admin (default: $DANGO_ADMIN_EMAIL or admin@localhost).")
        parser.add_argument("--skip-migrate", action="store_true", help="Do not run migrate first.")

    def handle(self, *args, admin_email=None, skip_migrate=False, **options):
        if not skip_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        try:
            created = create_first_admin(admin_email)
        except ValueError as error:
            raise CommandError(str(error)) from None
        if created is None:
            self.stdout.write("An active Admin exists; no account was created.")
            return
        user, password = created
        self.stdout.write(self.style.WARNING("First Admin created. This password is shown only once:"))
        self.stdout.write(f"  email:    {user.email}")
        self.stdout.write(f"  password: {password}")
        self.stdout.write("You will be asked to choose a new password at the first sign-in.")
