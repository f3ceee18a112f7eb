from django.contrib.auth.base_user import BaseUserManager


def normalize_email_address(email: str | None) -> str:
    """Lower-case the whole address and strip surrounding spaces.

    Django's own normalisation lower-cases only the domain; Dango treats the
    local part as case-insensitive too, as every mainstream provider does.
    """
    return (email or "").strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, email):
        return self.get(email=normalize_email_address(email))

    def create_user(self, email, password=None, role="viewer", **extra_fields):
        """Create a user holding ``role``; validate ``password`` against the policy."""
        from django.contrib.auth.password_validation import validate_password

        from rbac.assignment import set_role

        email = normalize_email_address(email)
        if not email:
            raise ValueError("An email address is required to create a user.")
        user = self.model(email=email, **extra_fields)
        if password is None:
            user.set_unusable_password()
        else:
            validate_password(password, user)
            user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        set_role(user, role)
        return user

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_superuser", True)
        return self.create_user(email, password, role="admin", **extra_fields)
