from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management import BaseCommand, CommandError

from credentials.backup import BackupError, create_backup
from credentials.keyring import key_file_path


class Command(BaseCommand):
    help = (
        "Write one encrypted archive of the database, .dlt/, .dango/secret_key and the audit log. "
        "Keep a copy of the encryption key list (.dango/encryption_keys) apart from the archives: "
        "restoring needs it."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", type=Path, help="Archive path (default: .dango/backups/dango-<UTC time>.dango-backup)."
        )

    def handle(self, *args, output=None, **options):
        try:
            path = create_backup(output)
        except (BackupError, ImproperlyConfigured, OSError) as error:
            raise CommandError(f"Backup failed: {error}") from None
        self.stdout.write(f"Wrote {path}")
        self.stdout.write(f"It is encrypted with the key list in {key_file_path()}; store a copy of that file safely.")
