"""Checks on the Admin accounts: two-factor authentication and one-time passwords.

These read the database. Django runs deploy checks only for ``check
--deploy``, so a plain ``runserver`` never pays for the queries; a database
that cannot be read (not migrated yet) gives a warning instead of a crash.
"""

from django.core.checks import Error, Tags, register
from django.core.checks import Warning as CheckWarning
from django.db import DatabaseError

W111 = "dango.W111"
E112 = "dango.E112"
W113 = "dango.W113"

MAX_LISTED_USERS = 5


def _list_users(users) -> str:
    names = [user.email for user in users[:MAX_LISTED_USERS]]
    if len(users) > MAX_LISTED_USERS:
        names.append(f"and {len(users) - MAX_LISTED_USERS} more")
    return ", ".join(names)


def has_second_factor(user) -> bool:
    """Return whether ``user`` has a confirmed two-factor device other than recovery codes."""
    from django_otp import devices_for_user
    from django_otp.plugins.otp_static.models import StaticDevice

    # Recovery codes back up a second factor; alone they are not one.
    return any(not isinstance(device, StaticDevice) for device in devices_for_user(user, confirmed=True))


@register(Tags.security, deploy=True)
def check_admin_accounts(app_configs, **kwargs) -> list:
    try:
        from rbac.assignment import active_admins
    except ImportError:
        # Outside Dango there is no Admin role to check.
        return []

    try:
        admins = list(active_admins().order_by("pk"))
        without_second_factor = [user for user in admins if not has_second_factor(user)]
    except DatabaseError as error:
        return [
            CheckWarning(
                f"Could not read the Admin accounts from the database: {error}",
                hint="Run `manage.py migrate` (or `manage.py bootstrap`) and check again.",
                id=W113,
            )
        ]

    messages = []
    if without_second_factor:
        messages.append(
            CheckWarning(
                f"{len(without_second_factor)} Admin(s) sign in without two-factor authentication: "
                f"{_list_users(without_second_factor)}. A stolen Admin password is then enough to take over the site.",
                hint="Each Admin turns on two-factor authentication on their account page.",
                id=W111,
            )
        )
    with_one_time_password = [user for user in admins if getattr(user, "must_change_password", False)]
    if with_one_time_password:
        messages.append(
            Error(
                f"{len(with_one_time_password)} Admin(s) still have a one-time password (the first-run password "
                f"or one set by `manage.py users reset-password`): {_list_users(with_one_time_password)}. "
                "Anyone who saw the console output can sign in with it.",
                hint="Sign in as each of them once: the site then asks for a new password before anything else.",
                id=E112,
            )
        )
    return messages
