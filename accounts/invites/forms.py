from django import forms
from django.contrib.auth.password_validation import password_validators_help_text_html, validate_password
from django.core.exceptions import ValidationError

from accounts.invites.models import Invite
from accounts.models import User
from rbac.roles import Role


class AcceptInviteForm(forms.Form):
    """The invitee's name and first password, checked against the password policy."""

    full_name = forms.CharField(label="Full name", max_length=150, required=False)
    password1 = forms.CharField(
        label="Password", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label="Password again", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, *args, invite: Invite, **kwargs):
        super().__init__(*args, **kwargs)
        self.invite = invite
        self.fields["password1"].help_text = password_validators_help_text_html()

    def clean(self):
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The two passwords do not match. Type the same password twice.")
        elif password1:
            # The similarity check compares against the future user's email and name.
            candidate = User(email=self.invite.email, full_name=cleaned.get("full_name") or "")
            try:
                validate_password(password1, candidate)
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class InviteAdminForm(forms.ModelForm):
    """The admin's add form: an email address and a role; the service does the rest."""

    role = forms.ChoiceField(choices=[(role.value, role.label) for role in Role], initial=Role.VIEWER.value)

    class Meta:
        model = Invite
        fields = ["email", "role"]

    def validate_unique(self):
        # The service checks for a pending invitation itself and explains
        # how to resend it; the model's generic message would not.
        pass
