from django.apps import AppConfig


class HardeningConfig(AppConfig):
    name = "hardening"
    verbose_name = "Hardening"

    def ready(self) -> None:
        from hardening import checks  # noqa: F401  (register the deploy checks)
        from hardening.conf import validate_settings

        # An invalid network or mode setting stops the site here, at start-up,
        # instead of failing every request that needs the client IP.
        validate_settings()
