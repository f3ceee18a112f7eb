from django import forms
from django.contrib.auth.forms import AdminPasswordChangeForm, ReadOnlyPasswordHashField
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from accounts.managers import normalize_email_address
from accounts.models import User
from accounts.passwords import apply_password_change
from rbac.assignment import RoleChangeError, check_can_remove, check_role_change, get_role, is_admin
from rbac.roles import Role

ROLE_CHOICES = [(role.value, role.label) for role in Role]


class UserAdminForm(forms.ModelForm):
    """User change form for the admin.

    ``groups``, ``user_permissions`` and ``is_staff`` are not fields of this
    form and the password hash is a disabled one, so a crafted POST naming
    them changes nothing. The role is one choice, applied through
    ``rbac.assignment.set_role``.
    """

    # The admin's fieldsets name "password"; without this declaration the
    # model's hash column would become an editable, required text field.
    password = ReadOnlyPasswordHashField(label="Password")
    role = forms.ChoiceField(choices=ROLE_CHOICES)

    class Meta:
        model = User
        # "role" is a declared field and stays out of this list: the admin
        # removes declared fields it shows read-only, and a name listed here
        # would then be an unknown model field.
        fields = ["email", "full_name", "is_active", "is_superuser"]

    def __init__(self, *args, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        if self.instance.pk and "role" in self.fields:
            current = get_role(self.instance)
            self.fields["role"].initial = current.value if current else Role.VIEWER.value
        self.initial_is_active = self.instance.is_active if self.instance.pk else True
        self.initial_is_superuser = self.instance.is_superuser if self.instance.pk else False

    def clean_email(self):
        email = normalize_email_address(self.cleaned_data["email"])
        if User.objects.filter(email=email).exclude(pk=self.instance.pk).exists():
            raise ValidationError(f"Another user already has the email address {email}.")
        return email

    def clean(self):
        cleaned = super().clean()
        role_value = cleaned.get("role")
        if not role_value:
            return cleaned
        role = Role.parse(role_value)
        is_superuser = cleaned.get("is_superuser", False)

        if is_superuser and role is not Role.ADMIN:
            self.add_error("is_superuser", "Superuser status is only for users with the Admin role.")
        if is_superuser and not self.initial_is_superuser and not is_admin(self.actor):
            self.add_error("is_superuser", "Only an Admin can grant superuser status.")

        if self.instance.pk:
            try:
                check_role_change(self.instance, role, actor=self.actor)
                if self.initial_is_active and not cleaned.get("is_active", True):
                    check_can_remove(self.instance, actor=self.actor, action="deactivate")
            except RoleChangeError as error:
                raise ValidationError(error.messages) from None
        elif role is Role.ADMIN and not is_admin(self.actor):
            self.add_error("role", "Only an Admin can grant the Admin role.")
        return cleaned


class UserAddForm(UserAdminForm):
    password = None
    password1 = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput)
    password2 = forms.CharField(label="Password confirmation", strip=False, widget=forms.PasswordInput)
    must_change_password = forms.BooleanField(
        initial=True, required=False, help_text="Ask the user to choose a new password at first sign-in."
    )

    class Meta(UserAdminForm.Meta):
        fields = ["email", "full_name", "is_active", "is_superuser", "must_change_password"]

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The two passwords do not match.")
        elif password1:
            self.instance.email = cleaned.get("email") or ""
            self.instance.full_name = cleaned.get("full_name") or ""
            try:
                validate_password(password1, self.instance)
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned

    def save(self, commit=True):
        user = super().save(commit=False)
        user.set_password(self.cleaned_data["password1"])
        if commit:
            user.save()
        return user


class PolicyAdminPasswordChangeForm(AdminPasswordChangeForm):
    """The admin's "set password" form: policy-checked, signs the user out elsewhere.

    An Admin who sets someone else's password knows it, so that user must
    choose a new one at the next sign-in.
    """

    def __init__(self, user, *args, request=None, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.request = request

    def save(self, commit=True):
        user = super().save(commit=commit)
        if commit:
            is_self = self.request is not None and self.request.user.pk == user.pk
            apply_password_change(
                user, request=self.request if is_self else None, reason="admin", must_change=not is_self
            )
        return user
