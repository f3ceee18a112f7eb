from credentials.paths import InvalidPath


class CredentialsError(Exception):
    """Base class for errors of the credentials app; the message is safe to show to users."""


class InvalidSecretPath(CredentialsError, InvalidPath):
    """A dotted path that is unreadable or does not fit the file's structure."""


class SecretNotFound(CredentialsError, KeyError):
    def __init__(self, path: str):
        self.path = path
        super().__init__(f"No value is stored at {path}. List the stored paths with: manage.py secrets list")

    def __str__(self) -> str:
        # KeyError would wrap the message in quotes.
        return self.args[0]


class MalformedSecretsFile(CredentialsError):
    """The secrets file is not valid TOML (or not UTF-8); it is left untouched."""

    def __init__(self, filename: str, line: int | None, column: int | None, reason: str):
        self.filename = filename
        self.line = line
        self.column = column
        self.reason = reason
        where = f"line {line}, column {column}" if line is not None else "an unknown position"
        super().__init__(
            f"{filename} is not valid TOML at {where}: {reason}. Fix that line by hand; "
            "Dango does not change a file it cannot parse."
        )


class SecretsLayoutError(CredentialsError):
    """An edit that could not be placed in the file without changing its meaning."""


class SecretsFileError(CredentialsError):
    """The file system refused to read or write the secrets file."""


class SecretsLockTimeout(CredentialsError):
    """Another process held the secrets file lock for too long."""
