from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError


class PasswordReuseValidator:
    """Reject a new password equal to the user's current one.

    Without it, a user who must replace a one-time password could "change"
    it to itself, and the password an Admin or the terminal saw would stay
    valid.
    """

    def validate(self, password: str, user=None) -> None:
        encoded = getattr(user, "password", None)
        # hashers.check_password, not user.check_password: the latter may
        # re-hash and save the user, which validation must never do.
        if encoded and check_password(password, encoded):
            raise ValidationError(
                "The new password must be different from the current one.", code="password_reused"
            )

    def get_help_text(self) -> str:
        return "Your new password must be different from your current one."
