from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management import BaseCommand, CommandError

from credentials import keyring
from credentials.backup import BackupError, read_archive, restore_backup


class Command(BaseCommand):
    help = (
        "Check an encrypted archive and restore it into an empty project folder. Nothing is written "
        "unless the whole archive decrypts and matches its checksums."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path, help="The .dango-backup file.")
        parser.add_argument("--target", type=Path, required=True, help="Project folder to restore into.")
        parser.add_argument(
            "--key-file",
            type=Path,
            help="Encryption key list that made the archive (default: this project's .dango/encryption_keys).",
        )
        parser.add_argument("--force", action="store_true", help="Restore even if the target folder is not empty.")
        parser.add_argument("--check", action="store_true", help="Only check the archive; restore nothing.")

    def handle(self, *args, archive, target, key_file=None, force=False, check=False, **options):
        try:
            keys = keyring.load_keys(create=False, path=key_file) if key_file else keyring.load_keys(create=False)
            if check:
                manifest, members = read_archive(archive, keys)
                self.stdout.write(
                    f"{archive} is intact: {len(members)} file(s), made {manifest['created_at']}, "
                    f"database as {manifest['database']}."
                )
                return
            result = restore_backup(archive, target, keys, force=force)
        except (BackupError, ImproperlyConfigured) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Restored {result.files} file(s) into {result.target} (database: {result.database}).")
        self.stdout.write(f"Start Dango with DANGO_PROJECT_ROOT={result.target}.")
