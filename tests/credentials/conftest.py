import pytest

from credentials import signals
from credentials.store import SecretsStore

CREDENTIAL_SIGNALS = {
    "secret_set": signals.secret_set,
    "secret_deleted": signals.secret_deleted,
    "secret_revealed": signals.secret_revealed,
    "oauth_token_stored": signals.oauth_token_stored,
    "oauth_token_refreshed": signals.oauth_token_refreshed,
    "oauth_token_refresh_failed": signals.oauth_token_refresh_failed,
    "oauth_token_revoked": signals.oauth_token_revoked,
}


@pytest.fixture
def project(tmp_path, settings):
    """A project folder of its own, with retries that do not slow the suite down."""
    root = tmp_path / "project"
    root.mkdir()
    settings.CREDENTIALS_PROJECT_ROOT = root
    settings.CREDENTIALS_REFRESH_BACKOFF = 0.001
    settings.CREDENTIALS_REFRESH_BACKOFF_MAX = 0.01
    return root


@pytest.fixture
def store(project):
    return SecretsStore(project)


@pytest.fixture
def sent_signals():
    """Record (signal name, keyword arguments) for every credentials signal sent during the test."""
    received = []
    receivers = {}
    for name, signal in CREDENTIAL_SIGNALS.items():

        def receiver(sender, signal=None, _name=name, **kwargs):
            received.append((_name, kwargs))

        receivers[name] = receiver
        signal.connect(receiver, weak=False, dispatch_uid=f"test-{name}")
    yield received
    for name, signal in CREDENTIAL_SIGNALS.items():
        signal.disconnect(dispatch_uid=f"test-{name}")
