import getpass
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management import BaseCommand, CommandError
from django.db.models import Q
from django.views.decorators.debug import sensitive_variables

from accounts.apikeys.models import ApiKey
from accounts.apikeys.operations import ApiKeyError
from accounts.apikeys.rotation import grace_period, revoke_retired_keys, rotate_api_key
from accounts.managers import normalize_email_address
from credentials import backup, keyring, source_rotation  # noqa: F401  (both register re-encryptors)
from credentials.exceptions import CredentialsError
from credentials.secret_key import finish_secret_key_rotation, rotate_secret_key, secret_key_path
from credentials.signals import encryption_key_rotated, secret_key_rotated
from dango_site.env import read_secret_key_file


class Command(BaseCommand):
    help = (
        "Rotate the keys this deployment holds: Django's SECRET_KEY (secret-key), the encryption key list "
        "for data encrypted at rest (encryption), API keys (api-keys) and one data-source secret (source). "
        "Add --dry-run before the key name to see what would change."
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

        api_keys = actions.add_parser(
            "api-keys",
            help="Give API keys successors; the old keys keep working for a grace period, then are revoked.",
        )
        which = api_keys.add_mutually_exclusive_group(required=True)
        which.add_argument("--key", action="append", help="Key id or display prefix (repeatable).")
        which.add_argument("--user", help="Every active key of this user (email).")
        which.add_argument("--all", action="store_true", help="Every active key.")
        which.add_argument(
            "--revoke-retired", action="store_true", help="Only revoke rotated keys whose grace period has ended."
        )
        api_keys.add_argument(
            "--grace-hours", type=int, help="Hours the old keys keep working (default: DANGO_API_KEY_ROTATION_GRACE_HOURS)."
        )
        api_keys.add_argument(
            "--output", type=Path, help="Write the new keys as JSON lines to this new file (mode 0600) instead of printing them."
        )

        source = actions.add_parser(
            "source", help="Replace one data-source secret, keeping the previous value until --confirm or --rollback."
        )
        source.add_argument("path", help="Dotted path, for example sources.stripe.api_key.")
        step = source.add_mutually_exclusive_group()
        step.add_argument("--confirm", action="store_true", help="The new value works: delete the kept previous value.")
        step.add_argument("--rollback", action="store_true", help="Put the previous value back.")
        source.add_argument("--stdin", action="store_true", help="Read the new value from standard input.")

    def handle(self, *args, action, dry_run=False, **options):
        try:
            if action == "secret-key":
                self._secret_key(dry_run=dry_run, finish=options.get("finish", False))
            elif action == "encryption":
                self._encryption(dry_run=dry_run)
            elif action == "api-keys":
                self._api_keys(dry_run=dry_run, **options)
            elif action == "source":
                self._source(dry_run=dry_run, **options)
        except (ImproperlyConfigured, keyring.RotationError, CredentialsError) as error:
            raise CommandError(str(error)) from None
        except ApiKeyError as error:
            raise CommandError(error.message) from None

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

    def _select_keys(self, key=None, user=None, all=False, **options):
        active = ApiKey.objects.active().filter(replaced_by__isnull=True).select_related("user")
        if all:
            return list(active)
        if user:
            email = normalize_email_address(user)
            keys = list(active.filter(user__email=email))
            if not keys:
                raise CommandError(f"{email} has no active API key to rotate.")
            return keys
        selected = []
        for reference in key:
            lookup = (Q(prefix=reference) | Q(pk=int(reference))) if reference.isdigit() else Q(prefix=reference)
            matches = list(active.filter(lookup))
            if len(matches) != 1:
                raise CommandError(
                    f"{reference!r} matches {len(matches)} active keys; give one key id or display prefix "
                    "(see 'manage.py apikeys list')."
                )
            selected.append(matches[0])
        return selected

    def _api_keys(self, dry_run: bool, grace_hours=None, output=None, revoke_retired=False, **options):
        if grace_hours is not None and grace_hours < 0:
            raise CommandError(f"--grace-hours {grace_hours} is negative; give 0 or more hours.")
        grace = timedelta(hours=grace_hours) if grace_hours is not None else grace_period()
        if revoke_retired:
            if dry_run:
                self.stdout.write("Would revoke every rotated key whose grace period has ended.")
                return
            revoked = revoke_retired_keys()
            self.stdout.write(f"Revoked {len(revoked)} rotated key(s) whose grace period had ended.")
            return

        keys = self._select_keys(**options)
        if dry_run:
            for key in keys:
                self.stdout.write(f"Would rotate {key.prefix}… ({key.name}) of {key.user.email}.")
            self.stdout.write(f"The old keys would keep working for {grace}.")
            return
        if output is not None and output.exists():
            raise CommandError(f"{output} already exists; name a new file so no earlier keys are overwritten.")

        revoke_retired_keys()
        lines = []
        for key in keys:
            rotated = rotate_api_key(key, grace=grace)
            lines.append(
                {"id": rotated.new.key.pk, "name": rotated.new.key.name, "owner": key.user.email,
                 "key": rotated.new.raw, "replaces": key.prefix, "old_key_works_until": rotated.old.expires_at.isoformat()}
            )
        if output is not None:
            output.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.writelines(json.dumps(line) + "\n" for line in lines)
            self.stdout.write(f"Rotated {len(lines)} key(s); the new keys are in {output} (mode 0600).")
            return
        for line in lines:
            self.stdout.write(
                f"{line['owner']} {line['name']}: {line['key']}  (replaces {line['replaces']}…, "
                f"which works until {line['old_key_works_until']})"
            )
        self.stdout.write(f"Rotated {len(lines)} key(s). The new keys are shown only now.")

    @sensitive_variables("value", "again")
    def _source(self, dry_run: bool, path: str, confirm=False, rollback=False, stdin=False, **options):
        if confirm:
            if dry_run:
                self.stdout.write(f"Would delete the kept previous value of {path}.")
                return
            dotted = source_rotation.confirm_rotation(path)
            self.stdout.write(f"Confirmed the new value of {dotted}; the previous value was deleted.")
            return
        if rollback:
            if dry_run:
                self.stdout.write(f"Would put the previous value of {path} back.")
                return
            dotted = source_rotation.rollback_rotation(path)
            self.stdout.write(f"Restored the previous value of {dotted}.")
            return
        if dry_run:
            self.stdout.write(f"Would ask for a new value of {path} and keep the current one until --confirm.")
            return
        if stdin or not sys.stdin.isatty():
            value = sys.stdin.read().rstrip("\r\n")
        else:
            value = getpass.getpass(f"New value for {path}: ")
            again = getpass.getpass("Again: ")
            if value != again:
                raise CommandError("The two values differ; nothing was changed.")
        if not value:
            raise CommandError("The new value is empty; nothing was changed.")
        dotted = source_rotation.rotate_source_secret(path, value)
        self.stdout.write(
            f"Wrote the new value of {dotted} and kept the previous one (encrypted). Once the source works, run "
            f"'manage.py rotate_keys source {dotted} --confirm'; to go back, '--rollback'."
        )
