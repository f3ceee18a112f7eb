from django import forms
from django.core.exceptions import ValidationError

from accounts.reauth import CODE_FORMAT_MESSAGE
from accounts.twofactor.totp import normalize_totp_code
from accounts.twofactor.verification import classify_code

_CODE_ATTRS = {"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false", "autofocus": True}


class SignInCodeForm(forms.Form):
    """The code step of sign-in: a TOTP code or a recovery code."""

    code = forms.CharField(label="Authentication code", max_length=64, widget=forms.TextInput(attrs=_CODE_ATTRS))

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        if classify_code(code) is None:
            raise ValidationError(CODE_FORMAT_MESSAGE, code="invalid_format")
        return code


class EnrolmentCodeForm(forms.Form):
    """The current code from the app, which confirms that the app has the new secret."""

    code = forms.CharField(
        label="Code from your app",
        max_length=16,
        widget=forms.TextInput(attrs={**_CODE_ATTRS, "inputmode": "numeric"}),
    )

    def clean_code(self) -> int:
        code = normalize_totp_code(self.cleaned_data["code"])
        if code is None:
            raise ValidationError("Enter the 6-digit code that your authenticator app shows now.", code="invalid_format")
        return code
