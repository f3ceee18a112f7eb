"""Settings of the credentials app, each with its default.

Read through ``app_settings`` so that ``override_settings`` in tests takes
effect; nothing is written onto ``django.conf.settings``.
"""

from pathlib import Path

from django.conf import settings


class AppSettings:
    prefix = "CREDENTIALS_"

    def _setting(self, name: str, default):
        return getattr(settings, self.prefix + name, default)

    @property
    def PROJECT_ROOT(self) -> Path:
        """Folder holding ``.dlt/secrets.toml``; the project's PROJECT_ROOT by default."""
        return Path(self._setting("PROJECT_ROOT", settings.PROJECT_ROOT))

    @property
    def LOCK_TIMEOUT(self) -> float:
        """Seconds to wait for another process to finish writing the secrets file."""
        return float(self._setting("LOCK_TIMEOUT", 10.0))

    @property
    def GOOGLE_TOKEN_URL(self) -> str:
        return self._setting("GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token")

    @property
    def GOOGLE_REVOKE_URL(self) -> str:
        return self._setting("GOOGLE_REVOKE_URL", "https://oauth2.googleapis.com/revoke")

    @property
    def HTTP_TIMEOUT(self) -> float:
        """Seconds before a call to the token or revoke endpoint times out."""
        return float(self._setting("HTTP_TIMEOUT", 10.0))

    @property
    def REFRESH_MARGIN(self) -> int:
        """Seconds before expiry at which an access token is refreshed."""
        return int(self._setting("REFRESH_MARGIN", 60))

    @property
    def REFRESH_ATTEMPTS(self) -> int:
        """Tries of a token request when the provider responds with 429/5xx or is unreachable."""
        return max(1, int(self._setting("REFRESH_ATTEMPTS", 4)))

    @property
    def REFRESH_BACKOFF(self) -> float:
        """Seconds before the first retry; each further retry waits twice as long."""
        return float(self._setting("REFRESH_BACKOFF", 1.0))

    @property
    def REFRESH_BACKOFF_MAX(self) -> float:
        return float(self._setting("REFRESH_BACKOFF_MAX", 30.0))

    @property
    def REFRESH_LOCK_TIMEOUT(self) -> float:
        """Seconds a process waits for another one's refresh of the same source."""
        return float(self._setting("REFRESH_LOCK_TIMEOUT", 120.0))


app_settings = AppSettings()
