import json
from urllib.parse import quote, quote_plus, urlencode

import pytest

from credentials.masking import MASK, mask_value, scrub_text


@pytest.mark.parametrize(
    "value,masked",
    [
        ("sk_live_1234567890abcd", "••••abcd"),
        ("123456789012", "••••9012"),
        ("12345678901", "••••"),
        ("short", "••••"),
        ("", "••••"),
        (None, "••••"),
        (5432, "••••"),
        (["charges", "customers", "invoices"], "••••"),
        (123456789012345, "••••"),
    ],
)
def test_mask_value(value, masked):
    """Long values show their last four characters; short ones show nothing of themselves."""
    assert mask_value(value) == masked


CANARY = "canary-Secret+/=&Value-7781"


@pytest.mark.parametrize(
    "form",
    [
        CANARY,
        quote(CANARY, safe=""),
        quote_plus(CANARY),
        json.dumps(CANARY)[1:-1],
        "canary-Secret+/=&amp;Value-7781",
    ],
)
def test_store_value_scrubbed_in_every_form(form):
    """A store value is masked as written, URL-encoded, JSON-escaped and HTML-escaped."""
    text = f"before {form} after"
    scrubbed = scrub_text(text, [CANARY])
    assert form not in scrubbed
    assert scrubbed == f"before {mask_value(CANARY)} after"


def test_longest_value_wins():
    """A value containing another value is masked whole."""
    scrubbed = scrub_text("x=abcdefgh-ijklmnop y", ["abcdefgh", "abcdefgh-ijklmnop"])
    assert "abcdefgh" not in scrubbed
    assert "ijklmnop" not in scrubbed


def test_short_store_values_are_not_scrubbed():
    """Values under 8 characters would match ordinary words, so they are left in text."""
    assert scrub_text("the port is 5432", ["5432"]) == "the port is 5432"


@pytest.mark.parametrize(
    "text,secret",
    [
        ("key dango_ak_3f9a8b7c6d5e4f3a2b1c used", "dango_ak_3f9a8b7c6d5e4f3a2b1c"),
        ("Authorization: Bearer ya29.a0AfH6SMBx-canary_token", "ya29.a0AfH6SMBx-canary_token"),
        ("authorization: bearer abcdef123456", "abcdef123456"),
        ("headers={'Authorization': 'token ghp_canary16chars'}", "ghp_canary16chars"),
        ("sent with Bearer eyJhbGciOiJIUzI1NiJ9.canary", "eyJhbGciOiJIUzI1NiJ9.canary"),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
        ("GET /login?user=ann&password=hunter2hunter2&next=/", "hunter2hunter2"),
        ("POST body: csrfmiddlewaretoken=abc123def456&password=p%40ssw0rd!", "p%40ssw0rd!"),
        ("client_secret=GOCSPX-canary&grant_type=refresh_token", "GOCSPX-canary"),
        ("refresh_token=1//0canary-refresh&client_id=x", "1//0canary-refresh"),
        ("?access_token=ya29-canary-access", "ya29-canary-access"),
        ("next=%2Fcallback%3Fcode%3D1%26token%3Dcanary-nested-token%26x%3D1", "canary-nested-token"),
        ("redirect=https%3A%2F%2Fapp%2Fcb%3Fsecret%3Dcanary-encoded-secret", "canary-encoded-secret"),
        ("db postgres://loader:canary-db-pass@127.0.0.1:5432/dango", "canary-db-pass"),
        ("encoded postgres%3A%2F%2Floader%3Acanary-enc-pass%40host", "canary-enc-pass"),
        ('{"refresh_token": "canary-json-token", "expires_in": 3599}', "canary-json-token"),
        ("{'client_secret': 'canary-repr-secret'}", "canary-repr-secret"),
        ("api_key=canary-api-key-1&apiKey=canary-api-key-2", "canary-api-key-1"),
        ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANcanary\n-----END PRIVATE KEY-----", "MIIEvQIBADANcanary"),
    ],
)
def test_secret_shapes_are_scrubbed(text, secret):
    """Known secret shapes are masked even when the store does not hold them."""
    scrubbed = scrub_text(text)
    assert secret not in scrubbed
    assert MASK in scrubbed


def test_parameter_names_and_other_values_stay():
    """Only the secret part goes: parameter names and harmless values remain readable."""
    scrubbed = scrub_text("/oauth/callback?" + urlencode({"state": "abc", "token": "canary-token-xyz9"}))
    assert scrubbed == "/oauth/callback?state=abc&token=••••xyz9"


@pytest.mark.parametrize(
    "text",
    [
        "The token endpoint returned invalid_grant",
        "Bearer authentication is required",
        "https://loader@example.com/path",
        "Refreshed the Google access token of source sheets",
    ],
)
def test_ordinary_text_unchanged(text):
    """Prose that mentions tokens, and URLs without a password, are left alone."""
    assert scrub_text(text) == text

