"""First run: make sure the deployment has an Admin who can sign in."""

import logging
import os

from django.db import transaction

from accounts.models import User
from accounts.passwords import generate_one_time_password
from rbac.assignment import active_admins

logger = logging.getLogger("accounts")

DEFAULT_ADMIN_EMAIL = "admin@localhost"


@transaction.atomic
def create_first_admin(email: str | None = None) -> tuple[User, str] | None:
    """Create an Admin with a one-time password when no active Admin exists.

    Returns the user and the password, which the caller shows once and
    nowhere else; returns None when an active Admin already exists.
    """
    if active_admins().exists():
        return None
    email = email or os.environ.get("DANGO_ADMIN_EMAIL") or DEFAULT_ADMIN_EMAIL
    if User.objects.filter(email__iexact=email).exists():
        raise ValueError(
            f"No active Admin exists, but {email} is already a user. "
            f"Give that user the Admin role with: manage.py users set-role {email} admin"
        )
    password = generate_one_time_password(User(email=email))
    user = User.objects.create_user(email, password, role="admin", must_change_password=True)
    logger.info("Created the first Admin, user id %s", user.pk)
    return user, password
