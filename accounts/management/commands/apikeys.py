from django.core.management import BaseCommand, CommandError
from django.utils import timezone

from accounts.apikeys.keys import KEY_PREFIX
from accounts.apikeys.models import ApiKey, ApiKeyStatus
from accounts.apikeys.operations import ApiKeyError, create_api_key, revoke_api_key
from accounts.managers import normalize_email_address
from accounts.models import User

STATUS_NAMES = ", ".join(status.value for status in ApiKeyStatus)


def find_user(email: str) -> User:
    normalized = normalize_email_address(email)
    user = User.objects.filter(email=normalized).first()
    if user is None:
        raise CommandError(f"No user has the email address {normalized!r}. List users with: manage.py users list")
    return user


def find_key(identifier: str) -> ApiKey:
    """Return the key with this id or display prefix (``dango_ak_…`` as the lists show it)."""
    identifier = identifier.strip().rstrip("…")
    if identifier.isdigit():
        key = ApiKey.objects.filter(pk=int(identifier)).select_related("user").first()
        if key is None:
            raise CommandError(f"No API key has the id {identifier}. List keys with: manage.py apikeys list")
        return key
    if not identifier.startswith(KEY_PREFIX):
        raise CommandError(f"{identifier!r} is neither a key id nor a key prefix such as {KEY_PREFIX}AbCd1234.")
    matches = list(ApiKey.objects.filter(prefix=identifier).select_related("user"))
    if not matches:
        raise CommandError(f"No API key has the prefix {identifier}. List keys with: manage.py apikeys list")
    if len(matches) > 1:
        ids = ", ".join(str(key.pk) for key in matches)
        raise CommandError(f"Several API keys have the prefix {identifier} (ids {ids}); revoke by id instead.")
    return matches[0]


def format_time(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "never"


class Command(BaseCommand):
    help = "Manage API keys from the command line: create (prints the key once), list, revoke."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        create = actions.add_parser("create", help="Create a key for a user and print it once.")
        create.add_argument("email", help="Email address of the key's owner.")
        create.add_argument("--name", required=True, help="Name of the key, unique among the owner's active keys.")
        create.add_argument(
            "--scopes", help="Comma-separated permission names, such as health.view,source.view "
            "(default: every permission of the owner's role).",
        )
        create.add_argument(
            "--expires-in-days", type=int, help="Lifetime in days (default: DANGO_API_KEY_DEFAULT_EXPIRY_DAYS; "
            "0 for no expiry when no maximum is set).",
        )

        listing = actions.add_parser("list", help="List keys with owner, scopes, expiry, last use and status.")
        listing.add_argument("--user", help="Only the keys of the user with this email address.")
        listing.add_argument("--status", help=f"Only keys with this status ({STATUS_NAMES}).")

        revoke = actions.add_parser("revoke", help="Revoke keys so that they stop working at once.")
        revoke.add_argument("keys", nargs="+", metavar="KEY", help="Key id or display prefix (dango_ak_…).")

    def handle(self, *args, action, **options):
        getattr(self, f"handle_{action}")(**options)

    def handle_create(self, email, name, scopes=None, expires_in_days=None, **options):
        user = find_user(email)
        scope_list = None
        if scopes is not None:
            scope_list = [scope.strip() for scope in scopes.split(",") if scope.strip()]
        try:
            created = create_api_key(user, name, scopes=scope_list, expires_in_days=expires_in_days,
                                     allowed_label=f"the role of {user.email}")
        except ApiKeyError as error:
            raise CommandError(error.message) from None
        key = created.key
        expiry = f"expires {format_time(key.expires_at)} UTC" if key.expires_at else "never expires"
        self.stdout.write(f"Created API key {key.pk} ({key.name}) for {user.email}; it {expiry}.")
        self.stdout.write("The key is shown only once. Store it now:")
        self.stdout.write(created.raw)

    def handle_list(self, user=None, status=None, **options):
        keys = ApiKey.objects.select_related("user").order_by("user__email", "-created_at")
        if user:
            keys = keys.filter(user=find_user(user))
        if status is not None and status not in ApiKeyStatus.values:
            raise CommandError(f"Unknown status {status!r}. Choose one of: {STATUS_NAMES}.")
        now = timezone.now()
        self.stdout.write(
            f"{'id':>5} {'prefix':19} {'owner':30} {'name':20} {'status':8} {'expires':16} {'last used':16} scopes"
        )
        for key in keys:
            key_status = key.status(now)
            if status is not None and key_status != status:
                continue
            scopes = "all of the role" if key.scopes is None else ",".join(key.scopes)
            self.stdout.write(
                f"{key.pk:>5} {key.prefix:19} {key.user.email:30} {key.name[:20]:20} {key_status.value:8} "
                f"{format_time(key.expires_at):16} {format_time(key.last_used_at):16} {scopes}"
            )

    def handle_revoke(self, keys, **options):
        targets = [find_key(identifier) for identifier in keys]
        # Check every key before revoking any, so a bad argument changes nothing.
        revoked = [key for key in targets if key.revoked_at is not None]
        if revoked:
            revoked_list = ", ".join(f"{key.pk} ({key.prefix}…)" for key in revoked)
            raise CommandError(f"Already revoked: {revoked_list}. Nothing was changed.")
        for key in targets:
            try:
                revoke_api_key(key)
            except ApiKeyError as error:
                raise CommandError(error.message) from None
            self.stdout.write(f"Revoked API key {key.pk} ({key.prefix}…, {key.name}) of {key.user.email}.")
