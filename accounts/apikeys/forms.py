from django import forms

from accounts.apikeys import app_settings
from accounts.apikeys.operations import NAME_MAX_LENGTH
from accounts.apikeys.permissions import role_permissions
from rbac.permissions import PERMISSIONS


class ApiKeyCreateForm(forms.Form):
    """The account page's form for a new key; the checks live in ``operations.create_api_key``."""

    name = forms.CharField(max_length=NAME_MAX_LENGTH, help_text="What will use the key, for example \"nightly export\".")
    scopes = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked to give the key every permission of your role.",
    )
    expires_in_days = forms.IntegerField(label="Lifetime in days", min_value=0)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        granted = sorted(role_permissions(user))
        self.fields["scopes"].choices = [(name, f"{name}: {PERMISSIONS[name].description}") for name in granted]
        maximum = app_settings.max_expiry_days()
        field = self.fields["expires_in_days"]
        field.initial = app_settings.default_expiry_days()
        if maximum:
            field.widget.attrs.update({"min": 1, "max": maximum})
            field.help_text = f"At most {maximum} days."
        else:
            field.help_text = "0 makes a key that never expires."

