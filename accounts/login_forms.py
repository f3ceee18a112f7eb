from allauth.account.fields import EmailField
from allauth.account.forms import LoginForm as AllauthLoginForm


class CaseInsensitiveEmailField(EmailField):
    """Email field that lower-cases the address before validating it.

    allauth lower-cases only after validation, and Django's EmailValidator
    accepts the domain ``localhost`` (the first Admin's default) only in lower
    case, so ``Admin@LOCALHOST`` would otherwise be rejected as invalid.
    """

    def to_python(self, value):
        return super().to_python(value).lower()


class LoginForm(AllauthLoginForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if isinstance(self.fields.get("login"), EmailField):
            self.fields["login"] = CaseInsensitiveEmailField()
