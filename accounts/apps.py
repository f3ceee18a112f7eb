from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import lifecycle, passwords, sessions  # noqa: F401  (connect receivers)
        from accounts import email_addresses  # noqa: F401  (connect receivers)
        from accounts.oauth import links, provider_changes  # noqa: F401  (connect receivers)
        from accounts.apikeys import checks as apikey_checks  # noqa: F401  (register system checks)
        from accounts.bruteforce import checks as bruteforce_checks  # noqa: F401  (register system checks)


class DangoAdminConfig(AdminConfig):
    default_site = "accounts.admin_site.DangoAdminSite"
