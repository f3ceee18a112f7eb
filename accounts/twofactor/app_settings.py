"""Two-factor settings, read on each access so that ``override_settings`` applies."""

from django.conf import settings


def _setting(name: str, default):
    return getattr(settings, name, default)


class AppSettings:
    @property
    def REQUIRED_FOR_ADMINS(self) -> bool:
        """Whether every Admin must have two-factor authentication (default True)."""
        return bool(_setting("DANGO_2FA_REQUIRED_FOR_ADMINS", True))

    @property
    def REQUIRED_FOR_ALL(self) -> bool:
        """Whether every user, whatever the role, must have it (default False)."""
        return bool(_setting("DANGO_2FA_REQUIRED_FOR_ALL", False))

    @property
    def PENDING_TIMEOUT(self) -> int:
        """Seconds between a correct password and the code step after which sign-in starts over."""
        return int(_setting("DANGO_2FA_PENDING_TIMEOUT", 5 * 60))

    @property
    def MAX_FAILURES(self) -> int:
        """Wrong codes allowed per pending sign-in before it starts over."""
        return int(_setting("DANGO_2FA_MAX_FAILURES", 5))

    @property
    def RECOVERY_CODE_COUNT(self) -> int:
        return int(_setting("DANGO_2FA_RECOVERY_CODE_COUNT", 10))

    @property
    def ENROLMENT_TIMEOUT(self) -> int:
        """Seconds an unconfirmed enrolment secret stays in the session."""
        return int(_setting("DANGO_2FA_ENROLMENT_TIMEOUT", 15 * 60))


app_settings = AppSettings()
