from django import forms

from credentials.actions import MAX_VALUE_LENGTH, parse_user_path
from credentials.exceptions import InvalidSecretPath
from credentials.paths import format_path

PATH_HELP = "Dotted path in secrets.toml, for example sources.stripe.api_key."


class PathField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 500)
        kwargs.setdefault("help_text", PATH_HELP)
        super().__init__(**kwargs)

    def clean(self, value):
        text = super().clean(value)
        try:
            return format_path(parse_user_path(text))
        except InvalidSecretPath as error:
            raise forms.ValidationError(str(error), code="invalid_path") from None


class SecretPathForm(forms.Form):
    path = PathField()


class SetSecretForm(forms.Form):
    path = PathField()
    # The value is never rendered back into the page, not even after an error.
    value = forms.CharField(
        max_length=MAX_VALUE_LENGTH,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stored exactly as entered.",
    )

