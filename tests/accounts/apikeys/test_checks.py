import pytest

from accounts.apikeys.checks import E401, E402, check_api_key_lifetimes


def ids(errors):
    return [error.id for error in errors]


def test_defaults_pass():
    assert check_api_key_lifetimes() == []


@pytest.mark.parametrize("default,maximum", [(400, 365), (0, 365)])
def test_default_outside_maximum(settings, default, maximum):
    settings.DANGO_API_KEY_DEFAULT_EXPIRY_DAYS = default
    settings.DANGO_API_KEY_MAX_EXPIRY_DAYS = maximum
    assert ids(check_api_key_lifetimes()) == [E402]


def test_negative_lifetime(settings):
    settings.DANGO_API_KEY_MAX_EXPIRY_DAYS = -1
    assert ids(check_api_key_lifetimes()) == [E401]


@pytest.mark.parametrize("default", [0, 30, 5000])
def test_no_maximum_allows_any_default(settings, default):
    settings.DANGO_API_KEY_DEFAULT_EXPIRY_DAYS = default
    settings.DANGO_API_KEY_MAX_EXPIRY_DAYS = 0
    assert check_api_key_lifetimes() == []
