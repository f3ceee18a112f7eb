"""Admin pages for sign-in providers and linked identities, replacing allauth's.

allauth's own pages show client secrets and stored tokens in clear text. They
also check Django model permissions, which Dango's roles do not carry. These
pages check the rbac permissions instead: ``auth.manage`` for providers,
``users.view`` and ``users.manage`` for linked identities.
"""

from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from allauth.socialaccount.providers import registry
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from accounts.admin import RbacPermissionsMixin
from accounts.oauth.links import unlink
from accounts.oauth.providers import ENV_VARIABLES, provider_name, providers_configured_in_settings

for model in (SocialApp, SocialAccount, SocialToken):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class SocialAppForm(forms.ModelForm):
    """A provider's client id and secret; the secret is never sent back to the browser.

    The app's JSON ``settings`` are left out on purpose: keys such as
    ``verified_email`` there would change which addresses count as verified.
    """

    provider = forms.ChoiceField()
    secret = forms.CharField(
        label="Client secret",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Leave empty to keep the current secret.",
    )

    class Meta:
        model = SocialApp
        fields = ["provider", "name", "client_id", "secret"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = [
            (provider_id, provider_name(provider_id)) for provider_id, _name in registry.as_choices()
        ]
        if self.instance.pk is None:
            self.fields["secret"].help_text = ""

    def clean_provider(self):
        provider = self.cleaned_data["provider"]
        name = provider_name(provider)
        if provider in providers_configured_in_settings():
            id_variable, secret_variable = ENV_VARIABLES.get(provider, ("its client id", "secret variables"))
            raise ValidationError(
                f"{name} sign-in is already configured by the environment variables {id_variable} and "
                f"{secret_variable}. Remove them to configure {name} here, or keep it in the environment."
            )
        others = SocialApp.objects.filter(provider=provider).exclude(pk=self.instance.pk)
        if others.exists():
            raise ValidationError(
                f"{name} sign-in is already configured by the social application {others.first().name!r}. "
                "Change that one instead of adding another."
            )
        return provider

    def clean_secret(self):
        secret = self.cleaned_data.get("secret", "").strip()
        if secret:
            return secret
        if self.instance.pk is not None:
            return self.instance.secret
        raise ValidationError("Enter the client secret the provider issued with this client id.")


@admin.register(SocialApp)
class SocialAppAdmin(RbacPermissionsMixin, admin.ModelAdmin):
    view_permission = "auth.manage"
    change_permission = "auth.manage"
    form = SocialAppForm
    list_display = ["name", "provider", "client_id"]


@admin.register(SocialAccount)
class SocialAccountAdmin(RbacPermissionsMixin, admin.ModelAdmin):
    """Linked identities, read-only; the unlink action keeps the last-way-to-sign-in rule."""

    list_display = ["user", "provider", "uid", "last_login", "date_joined"]
    list_filter = ["provider"]
    search_fields = ["user__email", "uid"]
    fields = ["user", "provider", "uid", "last_login", "date_joined"]
    readonly_fields = fields
    actions = ["unlink_accounts"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_unlink_permission(self, request) -> bool:
        return super().has_change_permission(request)

    @admin.action(description="Unlink selected identities", permissions=["unlink"])
    def unlink_accounts(self, request, queryset):
        count = 0
        for account in queryset.select_related("user"):
            try:
                unlink(account, request=request)
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
                continue
            count += 1
        if count:
            self.message_user(request, f"Unlinked {count} identity(ies).", messages.SUCCESS)
