"""Create, resend, revoke and accept invitations.

Every path (the admin, ``manage.py users``, the JSON API, the invite page and
OAuth sign-in) goes through these functions, so the checks and the events
are the same whichever way an invitation is handled. Errors a caller should
show are ``InviteError`` (a ValidationError with a code); a caller without
the right permission gets PermissionDenied.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts import signals
from accounts.invites.models import Invite, generate_token, hash_token
from accounts.managers import normalize_email_address
from accounts.models import User
from rbac.assignment import is_admin
from rbac.decorators import has_permission
from rbac.roles import Role

logger = logging.getLogger("accounts")

# The address `manage.py runserver` and scripts/serve listen on, used for links
# made on the command line when DANGO_SITE_URL is not set.
DEFAULT_SITE_URL = "http://127.0.0.1:8000"
# Longer input cannot be a token from generate_token(); it is not hashed.
MAX_TOKEN_LENGTH = 128


class InviteError(ValidationError):
    """A request about an invitation that cannot be carried out; ``code`` gives the reason.

    Codes: invalid_email, invalid_role, user_exists, invite_pending,
    not_pending, and for acceptance the invitation's status: expired,
    accepted, revoked.
    """


@dataclass(frozen=True)
class IssuedInvite:
    """An invitation together with its raw token, which exists only here."""

    invite: Invite
    token: str
    url: str


def expiry_delta() -> timedelta:
    return timedelta(hours=settings.DANGO_INVITE_EXPIRY_HOURS)


def invite_url(token: str, request=None) -> str:
    path = reverse("invite_open", kwargs={"token": token})
    if settings.DANGO_SITE_URL:
        return settings.DANGO_SITE_URL + path
    if request is not None:
        return request.build_absolute_uri(path)
    return DEFAULT_SITE_URL + path


def check_can_manage_invites(actor, role: Role) -> None:
    """Raise PermissionDenied unless ``actor`` may invite someone with ``role``.

    ``actor`` None is the command line, which runs with the server's rights.
    """
    if actor is None:
        return
    if not has_permission(actor, "users.manage"):
        raise PermissionDenied("Managing invitations needs the permission users.manage, which your role lacks.")
    if role is Role.ADMIN and not is_admin(actor):
        raise PermissionDenied("Only an Admin can invite someone with the Admin role.")


def _parse_email(email: str) -> str:
    normalized = normalize_email_address(email)
    try:
        validate_email(normalized)
    except ValidationError:
        raise InviteError(
            f"{email!r} is not a valid email address. Example: alice@example.com", code="invalid_email"
        ) from None
    return normalized


def _parse_role(role) -> Role:
    try:
        return Role.parse(role)
    except ValueError as error:
        raise InviteError(str(error), code="invalid_role") from None


def _check_no_account(email: str) -> None:
    if User.objects.filter(email=email).exists():
        raise InviteError(
            f"{email} already has a Dango account, so it cannot be invited. "
            "Reactivate the account or reset its password instead.",
            code="user_exists",
        )


def _actor_user(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def create_invite(email: str, role, actor=None, request=None) -> IssuedInvite:
    """Invite ``email`` to join with ``role``; return the invitation and its one-time link.

    An expired invitation for the same address is closed and replaced. A
    pending one makes this raise InviteError("invite_pending"), because two
    live links for one address would be confusing to revoke.
    """
    email = _parse_email(email)
    role = _parse_role(role)
    check_can_manage_invites(actor, role)
    token = generate_token()
    now = timezone.now()
    try:
        with transaction.atomic():
            _check_no_account(email)
            previous = Invite.objects.select_for_update().filter(email=email, status=Invite.Status.PENDING).first()
            if previous is not None:
                if not previous.is_expired:
                    raise InviteError(
                        f"An invitation for {email} is already pending until "
                        f"{previous.expires_at:%Y-%m-%d %H:%M} UTC. Resend it to issue a new link, "
                        "or revoke it first.",
                        code="invite_pending",
                    )
                previous.status = Invite.Status.EXPIRED
                previous.closed_at = now
                previous.save(update_fields=["status", "closed_at"])
            invite = Invite.objects.create(
                email=email,
                role=role.value,
                token_hash=hash_token(token),
                invited_by=_actor_user(actor),
                created_at=now,
                sent_at=now,
                expires_at=now + expiry_delta(),
            )
    except IntegrityError:
        # Another request created a pending invitation for this address
        # between our check and our insert.
        raise InviteError(
            f"An invitation for {email} was created at the same moment. Resend that one instead.",
            code="invite_pending",
        ) from None
    logger.info("Created invitation %s with the role %s", invite.pk, role.value)
    signals.user_invited.send(sender=Invite, invite=invite, request=request, actor=actor, resent=False)
    return IssuedInvite(invite=invite, token=token, url=invite_url(token, request))


def resend_invite(invite: Invite, actor=None, request=None) -> IssuedInvite:
    """Issue a new link for a pending (possibly expired) invitation; the old link stops working."""
    check_can_manage_invites(actor, _parse_role(invite.role))
    token = generate_token()
    now = timezone.now()
    with transaction.atomic():
        invite = Invite.objects.select_for_update().get(pk=invite.pk)
        if invite.status != Invite.Status.PENDING:
            raise InviteError(
                f"The invitation for {invite.email} is {invite.status}, so it cannot be resent. "
                "Create a new invitation instead.",
                code="not_pending",
            )
        _check_no_account(invite.email)
        invite.token_hash = hash_token(token)
        invite.sent_at = now
        invite.expires_at = now + expiry_delta()
        invite.save(update_fields=["token_hash", "sent_at", "expires_at"])
    logger.info("Issued a new link for invitation %s", invite.pk)
    signals.user_invited.send(sender=Invite, invite=invite, request=request, actor=actor, resent=True)
    return IssuedInvite(invite=invite, token=token, url=invite_url(token, request))


def revoke_invite(invite: Invite, actor=None, request=None) -> Invite:
    """Make a pending (possibly expired) invitation unusable for good."""
    check_can_manage_invites(actor, _parse_role(invite.role))
    with transaction.atomic():
        invite = Invite.objects.select_for_update().get(pk=invite.pk)
        if invite.status != Invite.Status.PENDING:
            raise InviteError(
                f"The invitation for {invite.email} is {invite.status}, so there is nothing to revoke.",
                code="not_pending",
            )
        invite.status = Invite.Status.REVOKED
        invite.closed_at = timezone.now()
        invite.save(update_fields=["status", "closed_at"])
    logger.info("Revoked invitation %s", invite.pk)
    signals.invite_revoked.send(sender=Invite, invite=invite, request=request, actor=actor)
    return invite


def get_open_invite(email: str) -> Invite | None:
    """Return the pending invitation for ``email`` (expired by time or not), or None."""
    return Invite.objects.filter(email=normalize_email_address(email), status=Invite.Status.PENDING).first()


def find_invite(token: str) -> Invite | None:
    """Return the invitation whose link carries ``token``, whatever its status."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return Invite.objects.filter(token_hash=hash_token(token)).first()


def check_usable(invite: Invite) -> None:
    """Raise InviteError with the invitation's status as code unless it can be accepted now."""
    status = invite.current_status
    if status != Invite.Status.PENDING:
        raise InviteError(f"The invitation for {invite.email} is {status}.", code=str(status))


def _create_invited_user(invite: Invite, password: str | None, full_name: str) -> User:
    _check_no_account(invite.email)
    user = User.objects.create_user(invite.email, password, role=invite.role, full_name=full_name)
    # The invitation proved the address, so it is recorded as verified.
    # Without the row allauth treats the address as unproven, and its email
    # authentication, if turned on, would wipe the password at a provider sign-in.
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    invite.status = Invite.Status.ACCEPTED
    invite.user = user
    invite.closed_at = timezone.now()
    invite.save(update_fields=["status", "user", "closed_at"])
    return user


def accept_invite(invite: Invite, password: str | None, full_name: str = "", request=None) -> User:
    """Create the invited user with ``password`` and close the invitation.

    ``password`` None creates a user without a usable password, for an
    acceptance proven by an OAuth provider's verified email instead. Raises
    InviteError when the invitation is no longer usable or the address
    already has an account, and ValidationError when the password breaks the
    policy. In every error case nothing changes. Signing in is the caller's job.
    """
    with transaction.atomic():
        invite = Invite.objects.select_for_update().get(pk=invite.pk)
        check_usable(invite)
        user = _create_invited_user(invite, password, full_name.strip())
    logger.info("Invitation %s accepted by new user %s", invite.pk, user.pk)
    signals.invite_accepted.send(sender=Invite, invite=invite, request=request)
    return user
