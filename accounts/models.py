from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.managers import UserManager, normalize_email_address
from accounts.user_agents import describe_browser


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in to Dango.

    ``email`` is the login and is stored lower-cased, so ``Alice@Example.com``
    and ``alice@example.com`` are one account; a functional unique index backs
    that up for rows written around the model. ``is_staff`` follows the role
    (true exactly for Admins) and is set by ``rbac.assignment.set_role``.
    ``must_change_password`` is set for generated one-time passwords and blocks
    every page but the password change until a new password is chosen.
    """

    email = models.EmailField("email address", max_length=254, unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="Follows the role: true exactly for Admins.")
    date_joined = models.DateTimeField(default=timezone.now)
    must_change_password = models.BooleanField(default=False)
    password_changed_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email_address(self.email)

    def save(self, *args, **kwargs):
        self.email = normalize_email_address(self.email)
        super().save(*args, **kwargs)


class UserSession(models.Model):
    """One signed-in browser session, listed on the account page.

    The Django session store holds the session itself; this row adds what the
    user needs to recognise it (browser, IP, times) and is indexed by user,
    which the session store is not. ``ended_at`` is set when the session
    ends by sign-out, timeout, revocation or password change.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="browser_sessions")
    session_key = models.CharField(max_length=64, unique=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-last_seen_at"]
        indexes = [models.Index(fields=["user", "ended_at"])]

    def __str__(self) -> str:
        return f"session of {self.user_id} from {self.ip_address or 'unknown IP'}"

    @property
    def browser(self) -> str:
        """A short description of the browser, such as "Firefox 128 on Linux"."""
        return describe_browser(self.user_agent)


from accounts.invites.models import Invite  # noqa: E402,F401  (own module, registered with the accounts app)
# Two-factor models live in their own module; importing them here registers them with the app.
from accounts.twofactor.models import RecoveryCode, RecoveryCodeDevice  # noqa: E402,F401
from accounts.bruteforce.models import SignInCounter  # noqa: E402,F401  (registers the model with the app)
from accounts.apikeys.models import ApiKey  # noqa: E402,F401
