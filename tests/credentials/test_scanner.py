import secrets as random_secrets

import pytest

from credentials.scanner import RULES, forbidden_path_reason, scan_text

DANGO_KEY = "dango_ak_" + random_secrets.token_urlsafe(32)

# One case per rule of the project's own table, and per provider format that
# detect-secrets is relied on for.
FINDING_CASES = [
    ("dango-api-key", "load.py", f'KEY = "{DANGO_KEY}"'),
    ("private-key-block", "deploy/key.txt", "-----BEGIN OPENSSH PRIVATE KEY-----"),
    ("private-key-block", "deploy/rsa.txt", "-----BEGIN RSA PRIVATE KEY-----"),
    ("secret-assignment", "settings.py", 'CLIENT_SECRET = "Gx7-k2Lp9-Qz4mW8-Rv1"'),
    ("secret-assignment", "config.yml", "db_password: Zq8!vN3@pL6#tR1x"),
    ("provider:aws-access-key", "aws.ini", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE"),
    ("provider:github-token", "ci.sh", "export GH=ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"),
    ("provider:stripe-access-key", "pay.py", 'STRIPE = "sk_live_' + '4eC39HqLyjWDarjtT1zdp7dc"'),
    ("provider:slack-token", "notify.py", 'SLACK = "xoxb-' + '123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"'),
]


@pytest.mark.parametrize("rule,path,line", FINDING_CASES, ids=[f"{case[0]}:{case[1]}" for case in FINDING_CASES])
def test_rule_finds_secret(rule, path, line):
    findings = list(scan_text(path, line + "\n"))
    assert [finding.rule for finding in findings] == [rule]
    assert findings[0].line == 1


def test_every_own_rule_has_a_case():
    assert {rule.id for rule in RULES} <= {case[0] for case in FINDING_CASES}


@pytest.mark.parametrize(
    "line",
    [
        'password = form.cleaned_data["password"]',
        "token = get_token(request)",
        "api_key = settings.DANGO_API_KEY",
        'secret = "changeme"',
        'password = "<your password>"',
        "client_secret: ${GOOGLE_CLIENT_SECRET}",
        'token = "aaaaaaaaaaaaaaaa"',
        "select id, amount from orders",
    ],
)
def test_ordinary_code_is_not_flagged(line):
    assert list(scan_text("app.py", line + "\n")) == []


def test_store_value_found_and_masked():
    value = "Vq3-rT8-zL1-pW6-nX0"
    findings = list(scan_text("notes.md", f"remember: {value}\n", known_secrets=[value]))
    assert [finding.rule for finding in findings] == ["store-value"]
    assert findings[0].excerpt == "remember: ••••-nX0"


def test_short_store_values_ignored():
    assert list(scan_text("notes.md", "port 5432\n", known_secrets=["5432"])) == []


@pytest.mark.parametrize(
    "path,forbidden",
    [
        (".dlt/secrets.toml", True),
        ("sub/project/.dlt/secrets.toml", True),
        (".env", True),
        (".env.production", True),
        (".env.example", False),
        (".dango/secret_key", True),
        ("home/.ssh/id_ed25519", True),
        ("home/.ssh/id_ed25519.pub", False),
        ("certs/client.p12", True),
        (".dlt/config.toml", False),
    ],
)
def test_forbidden_paths(path, forbidden):
    assert (forbidden_path_reason(path) is not None) is forbidden


def test_fingerprint_hides_value_and_depends_on_path():
    first = list(scan_text("a.py", f'KEY = "{DANGO_KEY}"\n'))[0]
    second = list(scan_text("b.py", f'KEY = "{DANGO_KEY}"\n'))[0]
    assert first.fingerprint != second.fingerprint
    assert DANGO_KEY not in first.format()
