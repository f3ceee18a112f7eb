from django.core.exceptions import ImproperlyConfigured
from django.core.management import BaseCommand, CommandError

from credentials import backup, keyring  # noqa: F401  (backup registers its re-encryptor)
from credentials.secret_key import finish_secret_key_rotation, rotate_secret_key, secret_key_path
from credentials.signals import encryption_key_rotated, secret_key_rotated
from dango_site.env import read_secret_key_file


class Command(BaseCommand):
    help = (
        "Rotate the keys this deployment holds: Django's SECRET_KEY (secret-key) and the encryption "
        "key list for data encrypted at rest (encryption). Add --dry-run to see what would change."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print what would change and change nothing.")
        actions = parser.add_subparsers(dest="action", required=True, metavar="KEY")

        secret = actions.add_parser(
            "secret-key",
            help="New SECRET_KEY; the old one stays a fallback so sessions and reset links keep working.",
        )
        secret.add_argument(
            "--finish", action="store_true", help="Drop the fallback keys (ends sessions signed with them)."
        )

        actions.add_parser(
            "encryption", help="New encryption key; re-encrypt stored backups, then retire the old key."
        )

    def handle(self, *args, action, dry_run=False, **options):
        try:
            if action == "secret-key":
                self._secret_key(dry_run=dry_run, finish=options.get("finish", False))
            elif action == "encryption":
                self._encryption(dry_run=dry_run)
        except (ImproperlyConfigured, keyring.RotationError) as error:
            raise CommandError(str(error)) from None

    def _secret_key(self, dry_run: bool, finish: bool):
        path = secret_key_path()
        keys = read_secret_key_file(path)
        if finish:
            if dry_run:
                self.stdout.write(f"Would drop {len(keys) - 1} fallback key(s) from {path}.")
                return
            dropped = finish_secret_key_rotation(path)
            secret_key_rotated.send(sender=Command, phase="finished", fallbacks=0)
            self.stdout.write(
                f"Dropped {dropped} fallback key(s). Restart Dango: sessions and links signed with them now end."
            )
            return
        if dry_run:
            self.stdout.write(f"Would add a new SECRET_KEY to {path} and keep {len(keys)} old key(s) as fallbacks.")
            return
        fallbacks = rotate_secret_key(path)
        secret_key_rotated.send(sender=Command, phase="rotated", fallbacks=fallbacks)
        self.stdout.write(
            f"New SECRET_KEY written to {path}; {fallbacks} fallback key(s) kept. Restart Dango to use it. "
            "Once old sessions and reset links may expire, run 'manage.py rotate_keys secret-key --finish'."
        )

    def _encryption(self, dry_run: bool):
        if dry_run:
            self.stdout.write(
                f"Would add a new key to {keyring.key_file_path()}, re-encrypt the stored items of: "
                f"{', '.join(keyring.registered_stores()) or 'nothing'}, then retire the old key(s)."
            )
            return
        counts = keyring.rotate()
        encryption_key_rotated.send(sender=Command, counts=counts)
        for name, count in counts.items():
            self.stdout.write(f"Re-encrypted {count} item(s) in {name}.")
        self.stdout.write(
            f"The key list {keyring.key_file_path()} now holds only the new key. Archives stored elsewhere "
            "need the old key list to be read."
        )
