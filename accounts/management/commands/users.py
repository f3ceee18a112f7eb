from django.core.exceptions import ValidationError
from django.core.management import BaseCommand, CommandError
from django.db import transaction

from accounts.bruteforce.unlock import unlock
from accounts.invites.models import Invite
from accounts.invites.service import create_invite, get_open_invite, resend_invite, revoke_invite
from accounts.managers import normalize_email_address
from accounts.models import User
from accounts.passwords import generate_one_time_password, reset_to_one_time_password
from accounts.twofactor import devices as two_factor_devices
from hardening.client_ip import normalize_ip
from rbac.assignment import RoleChangeError, check_can_remove, get_role, set_role
from rbac.roles import Role

ROLE_NAMES = ", ".join(role.value for role in Role)


def find_user(email: str) -> User:
    normalized = normalize_email_address(email)
    try:
        return User.objects.get(email=normalized)
    except User.DoesNotExist:
        raise CommandError(f"No user has the email address {normalized!r}. List users with: manage.py users list") from None


def parse_role(value: str) -> Role:
    try:
        return Role.parse(value)
    except ValueError as error:
        raise CommandError(str(error)) from None


class Command(BaseCommand):
    help = (
        "Manage users from the command line: list, create, set-role, deactivate, reactivate, delete, "
        "reset-password, reset-2fa, unlock, invite, resend-invite, revoke-invite, list-invites."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        listing = actions.add_parser("list", help="List users with role, status and last sign-in.")
        listing.add_argument("--role", help=f"Only users with this role ({ROLE_NAMES}).")
        listing.add_argument("--inactive", action="store_true", help="Only deactivated users.")

        create = actions.add_parser("create", help="Create a user and print a one-time password.")
        create.add_argument("email")
        create.add_argument("--role", required=True, help=f"Role of the new user ({ROLE_NAMES}).")
        create.add_argument("--name", default="", help="Full name.")

        set_role_parser = actions.add_parser("set-role", help="Give a user a different role.")
        set_role_parser.add_argument("email")
        set_role_parser.add_argument("role", help=ROLE_NAMES)

        for name, text in [
            ("deactivate", "Block a user from signing in and end their sessions."),
            ("reactivate", "Let a deactivated user sign in again."),
            ("reset-password", "Replace a user's password with a one-time password that must be changed."),
            ("reset-2fa", "Turn off a user's two-factor authentication (lost phone); they can enrol again."),
        ]:
            actions.add_parser(name, help=text).add_argument("email")

        delete = actions.add_parser("delete", help="Delete a user for good.")
        delete.add_argument("email")
        delete.add_argument("--yes", action="store_true", help="Confirm the deletion; required.")

        invite = actions.add_parser("invite", help="Invite an email address and print the one-time invite link.")
        invite.add_argument("email")
        invite.add_argument("--role", required=True, help=f"Role the invited user gets ({ROLE_NAMES}).")
        actions.add_parser(
            "resend-invite", help="Print a new link for a pending invitation; the old link stops working."
        ).add_argument("email")
        actions.add_parser("revoke-invite", help="Revoke a pending invitation.").add_argument("email")
        actions.add_parser("list-invites", help="List invitations with status and expiry.")
        unlock_parser = actions.add_parser(
            "unlock", help="Clear the failed sign-ins that lock an email out, from every IP address or one."
        )
        unlock_parser.add_argument("email", help="The email as typed at sign-in; it need not belong to a user.")
        unlock_parser.add_argument("--ip", help="Clear only the failures from this client IP address.")

    def handle(self, *args, action, **options):
        handler = getattr(self, "handle_" + action.replace("-", "_"))
        try:
            handler(**options)
        except (RoleChangeError, ValidationError) as error:
            raise CommandError(" ".join(error.messages)) from None

    def handle_list(self, role=None, inactive=False, **options):
        users = User.objects.prefetch_related("groups").order_by("email")
        if role:
            users = users.filter(groups__name=parse_role(role).group_name)
        if inactive:
            users = users.filter(is_active=False)
        self.stdout.write(f"{'email':40} {'role':8} {'active':7} last sign-in")
        for user in users:
            user_role = get_role(user)
            last = user.last_login.strftime("%Y-%m-%d %H:%M") if user.last_login else "never"
            self.stdout.write(
                f"{user.email:40} {(user_role.value if user_role else 'none'):8} {('yes' if user.is_active else 'no'):7} {last}"
            )

    def handle_create(self, email, role, name="", **options):
        new_role = parse_role(role)
        normalized = normalize_email_address(email)
        if User.objects.filter(email=normalized).exists():
            raise CommandError(f"A user with the email address {normalized!r} already exists.")
        password = generate_one_time_password(User(email=normalized, full_name=name))
        try:
            user = User.objects.create_user(
                normalized, password, role=new_role.value, full_name=name, must_change_password=True
            )
        except ValidationError as error:
            raise CommandError(f"Cannot create {normalized!r}: {' '.join(error.messages)}") from None
        self.stdout.write(f"Created {user.email} with the role {new_role.label}.")
        self.stdout.write(f"One-time password (shown once, must be changed at first sign-in): {password}")

    def handle_set_role(self, email, role, **options):
        user = find_user(email)
        new_role = parse_role(role)
        old_role = set_role(user, new_role)
        if old_role is new_role:
            self.stdout.write(f"{user.email} already has the role {new_role.label}; nothing changed.")
        else:
            self.stdout.write(f"{user.email}: {old_role.label if old_role else 'none'} -> {new_role.label}.")

    def handle_deactivate(self, email, **options):
        user = find_user(email)
        if not user.is_active:
            raise CommandError(f"{user.email} is already deactivated.")
        check_can_remove(user, action="deactivate")
        user.is_active = False
        user.save(update_fields=["is_active"])
        self.stdout.write(f"Deactivated {user.email}.")

    def handle_reactivate(self, email, **options):
        user = find_user(email)
        if user.is_active:
            raise CommandError(f"{user.email} is already active.")
        user.is_active = True
        user.save(update_fields=["is_active"])
        self.stdout.write(f"Reactivated {user.email}.")

    def handle_delete(self, email, yes=False, **options):
        user = find_user(email)
        if not yes:
            raise CommandError(f"Deleting {user.email} cannot be undone. Run again with --yes to confirm.")
        check_can_remove(user, action="delete")
        with transaction.atomic():
            user.delete()
        self.stdout.write(f"Deleted {user.email}.")

    def handle_reset_password(self, email, **options):
        user = find_user(email)
        password = reset_to_one_time_password(user, reason="command")
        self.stdout.write(f"New one-time password for {user.email} (shown once, must be changed at next sign-in):")
        self.stdout.write(password)

    def _print_link(self, issued) -> None:
        invite = issued.invite
        self.stdout.write(
            f"Invite link for {invite.email} (role {invite.role_label}), valid once until "
            f"{invite.expires_at:%Y-%m-%d %H:%M} UTC. It is shown only now; send it to the invitee:"
        )
        self.stdout.write(issued.url)

    def _find_open_invite(self, email: str) -> Invite:
        invite = get_open_invite(email)
        if invite is None:
            raise CommandError(
                f"No pending invitation exists for {normalize_email_address(email)!r}. "
                "List invitations with: manage.py users list-invites"
            )
        return invite

    def handle_invite(self, email, role, **options):
        issued = create_invite(email, parse_role(role))
        self.stdout.write(f"Invited {issued.invite.email} with the role {issued.invite.role_label}.")
        self._print_link(issued)

    def handle_resend_invite(self, email, **options):
        self._print_link(resend_invite(self._find_open_invite(email)))

    def handle_revoke_invite(self, email, **options):
        invite = revoke_invite(self._find_open_invite(email))
        self.stdout.write(f"Revoked the invitation for {invite.email}; its link no longer works.")

    def handle_list_invites(self, **options):
        self.stdout.write(f"{'email':40} {'role':8} {'status':9} {'expires (UTC)':17} invited by")
        for invite in Invite.objects.select_related("invited_by").order_by("email", "-sent_at"):
            invited_by = invite.invited_by.email if invite.invited_by else "-"
            self.stdout.write(
                f"{invite.email:40} {invite.role:8} {invite.current_status.value:9} "
                f"{invite.expires_at:%Y-%m-%d %H:%M} {invited_by}"
            )
    def handle_reset_2fa(self, email, **options):
        user = find_user(email)
        if not two_factor_devices.disable(user, by=None):
            raise CommandError(f"{user.email} has no two-factor authentication; nothing to reset.")
        self.stdout.write(
            f"Reset two-factor authentication of {user.email}. The next sign-in needs only the password; "
            "a user whose role requires 2FA is then asked to set it up again."
        )

    def handle_unlock(self, email, ip=None, **options):
        identifier = normalize_email_address(email)
        if not identifier:
            raise CommandError("The email address is empty. Give the email that was typed at sign-in.")
        ip_address = None
        if ip is not None:
            ip_address = normalize_ip(ip)
            if ip_address is None:
                raise CommandError(f"{ip!r} is not an IP address. Give an IPv4 or IPv6 address, such as 192.0.2.10.")
        where = f" from {ip_address}" if ip_address else ""
        result = unlock(identifier, ip_address)
        if not result.cleared:
            raise CommandError(f"No failed sign-ins are recorded for {identifier!r}{where}; nothing to unlock.")
        self.stdout.write(
            f"Unlocked {identifier}{where}: cleared {result.failures} failed sign-in(s) from "
            f"{result.pairs} IP address(es), {result.locked_pairs} of them locked."
        )
