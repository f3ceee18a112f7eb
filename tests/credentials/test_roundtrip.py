"""Byte-for-byte round trips of secrets.toml through the store."""

import tomllib

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from credentials.document import SecretsDocument
from credentials.exceptions import InvalidSecretPath, MalformedSecretsFile, SecretNotFound, SecretsFileError
from credentials.paths import parse_path
from credentials.store import SecretsStore

from . import samples


def write(store: SecretsStore, text: str) -> None:
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_bytes(text.encode("utf-8"))


def replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} must occur exactly once in the sample"
    return text.replace(old, new)


@pytest.mark.parametrize("name", sorted(samples.ALL))
def test_unchanged_file_keeps_bytes(store, name):
    """Opening a file for editing and changing nothing writes nothing."""
    write(store, samples.ALL[name])
    before = store.path.stat().st_mtime_ns
    with store.edit():
        pass
    assert store.path.read_bytes() == samples.ALL[name].encode("utf-8")
    assert store.path.stat().st_mtime_ns == before


@pytest.mark.parametrize(
    "name,path,old,new",
    [
        ("dlt_init", "sources.stripe_analytics.stripe_secret_key", '"canary_sk_live_0003"', '"sk_new_value"'),
        ("dlt_init", "destination.postgres.credentials.password", '"canary-db-password-0004"', '"sk_new_value"'),
        ("dotted", "sources.hubspot.api_key", '"canary-hubspot-0005"', '"sk_new_value"'),
        ("dotted", "sources.notion.api_key", "'canary-notion-literal-0006'", '"sk_new_value"'),
        ("dotted", "sources.hubspot.include_history", "false", '"sk_new_value"'),
        ("inline", "sources.stripe.stripe_secret_key", '"canary-stripe-0007"', '"sk_new_value"'),
        ("inline", "sources.github.nested.depth", "depth = 2", 'depth = "sk_new_value"'),
        ("out_of_order", "sources.sql_database.credentials.password", '"canary-pässwörd-✓-0009"', '"sk_new_value"'),
        (
            "out_of_order",
            'sources."my.source"."key with spaces"',
            '"""\ncanary multi\nline 0010"""',
            '"sk_new_value"',
        ),
        ("crlf", "sources.google_sheets.credentials.refresh_token", '"canary-refresh-token-0002"', '"sk_new_value"'),
    ],
)
def test_changed_value_is_the_only_difference(store, name, path, old, new):
    """Changing a value rewrites only the bytes of that value; comments and layout stay."""
    original = samples.ALL[name]
    write(store, original)
    created = store.set(path, "sk_new_value")
    assert created is False
    assert store.path.read_bytes() == replace_once(original, old, new).encode("utf-8")


def test_same_value_keeps_bytes(store):
    """Setting a basic-string value to what it already is leaves the file identical."""
    write(store, samples.DLT_INIT)
    store.set("sources.google_sheets.credentials.client_secret", "canary-client-secret-0001")
    assert store.path.read_bytes() == samples.DLT_INIT.encode("utf-8")


ADDITIONS = [
    (
        "dlt_init",
        "sources.stripe_analytics.account_id",
        'stripe_secret_key = "canary_sk_live_0003" # please set me up!\n',
        'stripe_secret_key = "canary_sk_live_0003" # please set me up!\naccount_id = "added-value"\n',
    ),
    (
        "dlt_init",
        "sources.hubspot.api_key",
        'stripe_secret_key = "canary_sk_live_0003" # please set me up!\n\n',
        'stripe_secret_key = "canary_sk_live_0003" # please set me up!\n\n[sources.hubspot]\napi_key = "added-value"\n\n',
    ),
    (
        "dlt_init",
        "sources.google_sheets.credentials.token",
        'refresh_token = "canary-refresh-token-0002"\n',
        'refresh_token = "canary-refresh-token-0002"\ntoken = "added-value"\n',
    ),
    (
        "dotted",
        "sources.hubspot.token",
        "sources.hubspot.include_history = false\n",
        'sources.hubspot.include_history = false\nsources.hubspot.token = "added-value"\n',
    ),
    (
        "dotted",
        "sources.zendesk.subdomain",
        "# a literal string\n",
        '# a literal string\nsources.zendesk.subdomain = "added-value"\n',
    ),
    (
        "inline",
        "sources.stripe.account",
        'endpoints = ["charges", "customers"] }',
        'endpoints = ["charges", "customers"], account = "added-value" }',
    ),
    (
        "inline",
        "sources.github.nested.more",
        "nested = { depth = 2 }",
        'nested = { depth = 2, more = "added-value" }',
    ),
    (
        "inline",
        "sources.asana.token",
        "nested = { depth = 2 } }\n",
        'nested = { depth = 2 } }\n\n[sources.asana]\ntoken = "added-value"\n',
    ),
    (
        "out_of_order",
        "sources.sql_database.credentials.username",
        'password = "canary-pässwörd-✓-0009"\n',
        'password = "canary-pässwörd-✓-0009"\nusername = "added-value"\n',
    ),
    (
        "out_of_order",
        "sources.sql_database.chunk_size",
        '    "customers",\n]\n',
        '    "customers",\n]\nchunk_size = "added-value"\n',
    ),
    (
        "out_of_order",
        "sources.sql_database.credentials.query.connect_timeout",
        'sslmode = "require"\n',
        'sslmode = "require"\nconnect_timeout = "added-value"\n',
    ),
    (
        "out_of_order",
        "destination.bigquery.credentials.project_id",
        'location = "EU"\n',
        'location = "EU"\n\n[destination.bigquery.credentials]\nproject_id = "added-value"\n',
    ),
    (
        "crlf",
        "sources.stripe_analytics.account_id",
        'stripe_secret_key = "canary_sk_live_0003" # please set me up!\r\n',
        'stripe_secret_key = "canary_sk_live_0003" # please set me up!\r\naccount_id = "added-value"\r\n',
    ),
    (
        "crlf",
        "sources.hubspot.api_key",
        "please set me up!\r\n\r\n",
        'please set me up!\r\n\r\n[sources.hubspot]\r\napi_key = "added-value"\r\n\r\n',
    ),
]


@pytest.mark.parametrize("name,path,old,new", ADDITIONS)
def test_new_key_lands_in_its_table(store, name, path, old, new):
    """A new key is one inserted line (or table) next to its siblings; every other byte stays."""
    original = samples.ALL[name]
    write(store, original)
    assert store.set(path, "added-value") is True
    assert store.path.read_bytes() == replace_once(original, old, new).encode("utf-8")
    node = tomllib.loads(store.path.read_text(encoding="utf-8"))
    for segment in parse_path(path):
        node = node[segment]
    assert node == "added-value"


DELETIONS = [
    (
        "dlt_init",
        "sources.stripe_analytics",
        '[sources.stripe_analytics]\nstripe_secret_key = "canary_sk_live_0003" # please set me up!\n\n',
        "",
    ),
    ("dlt_init", "destination.postgres.credentials.password", 'password = "canary-db-password-0004"\n', ""),
    (
        "dotted",
        "sources.hubspot",
        'sources.hubspot.api_key = "canary-hubspot-0005"\nsources.hubspot.include_history = false\n',
        "",
    ),
    ("inline", "sources.github.repos", ' repos = [ "a/b", "c/d" ],', ""),
    ("inline", "sources.stripe.endpoints", ', endpoints = ["charges", "customers"]', ""),
    (
        "out_of_order",
        "sources.sql_database.credentials",
        '[sources.sql_database.credentials]\ndrivername = "postgresql"\npassword = "canary-pässwörd-✓-0009"\n\n',
        "",
    ),
    ("crlf", "sources.google_sheets.credentials.client_id", 'client_id = "1234567890-abc.apps.googleusercontent.com"\r\n', ""),
]


@pytest.mark.parametrize("name,path,old,new", DELETIONS)
def test_delete_removes_only_its_lines(store, name, path, old, new):
    """Deleting a key or table removes its lines; comments and other tables stay."""
    original = samples.ALL[name]
    write(store, original)
    store.delete(path)
    expected = replace_once(original, old, new)
    if name == "out_of_order":
        # The sub-table [sources.sql_database.credentials.query] goes too.
        expected = replace_once(expected, '[sources.sql_database.credentials.query]\nsslmode = "require"\n\n', "")
    assert store.path.read_bytes() == expected.encode("utf-8")


def test_unicode_value_round_trip(store):
    """Non-ASCII values are written as UTF-8 and read back unchanged."""
    write(store, samples.DLT_INIT)
    value = "pässwörd ✓ 𝔘𝔫𝔦 \"quoted\" back\\slash\ttab"
    store.set("sources.stripe_analytics.stripe_secret_key", value)
    assert store.get("sources.stripe_analytics.stripe_secret_key") == value
    raw = store.path.read_bytes()
    assert "pässwörd ✓ 𝔘𝔫𝔦".encode("utf-8") in raw
    assert tomllib.loads(raw.decode("utf-8"))["sources"]["stripe_analytics"]["stripe_secret_key"] == value


def test_control_characters_are_escaped(store):
    """Control characters and line breaks in a value are written as escapes on one line."""
    value = "a\x00b\x1fc\x7fd\r\ne\u2028f"
    store.set('sources.x."key with spaces"', value)
    assert store.path.read_bytes() == (
        '[sources.x]\n"key with spaces" = "a\\u0000b\\u001fc\\u007fd\\r\\ne\u2028f"\n'.encode("utf-8")
    )
    assert store.get('sources.x."key with spaces"') == value


def test_crlf_file_stays_crlf(store):
    """Every line added to a CRLF file ends with CRLF."""
    write(store, samples.CRLF)
    store.set("sources.new_source.api_key", "x" * 20)
    store.set("sources.google_sheets.credentials.token", "y" * 20)
    raw = store.path.read_bytes()
    assert raw.count(b"\n") == raw.count(b"\r\n")


def test_new_file_and_table(store):
    """The first value creates the file with one table."""
    store.set("sources.stripe.api_key", "sk_first_value")
    assert store.path.read_bytes() == b'[sources.stripe]\napi_key = "sk_first_value"\n'


def test_file_without_final_newline(store):
    """A key added to a file that lacks a final line break gets its own line."""
    write(store, '[sources.stripe]\napi_key = "x"')
    store.set("sources.stripe.account", "acct")
    assert store.path.read_bytes() == b'[sources.stripe]\napi_key = "x"\naccount = "acct"\n'


@pytest.mark.parametrize(
    "text,line,column",
    [
        ('[sources.stripe]\napi_key = "unterminated\n', 2, 24),
        ("[sources.stripe]\napi_key = 1\napi_key = 2\n", 3, 12),
        ("[sources.stripe\napi_key = 1\n", 1, 16),
    ],
)
def test_malformed_file_names_line_and_is_kept(store, text, line, column):
    """A file that does not parse is reported with its line and column and never overwritten."""
    write(store, text)
    with pytest.raises(MalformedSecretsFile) as caught:
        store.set("sources.stripe.other", "value")
    assert caught.value.line == line
    assert caught.value.column == column
    assert f"line {line}, column {column}" in str(caught.value)
    assert store.path.read_bytes() == text.encode("utf-8")


def test_non_utf8_file_names_position(store):
    """A file with bytes that are not UTF-8 is reported with the line and column of the first one."""
    raw = b'[sources.stripe]\napi_key = "\xff\xfe"\n'
    store.path.parent.mkdir(parents=True)
    store.path.write_bytes(raw)
    with pytest.raises(MalformedSecretsFile) as caught:
        store.delete("sources.stripe.api_key")
    assert (caught.value.line, caught.value.column) == (2, 12)
    assert store.path.read_bytes() == raw


@pytest.mark.parametrize(
    "path,message",
    [
        ("sources.stripe", "is a table"),
        ("sources.stripe.api_key.deeper", "is a value, not a table"),
        ("sources.stripe.endpoints.first", "is an array"),
        ("sources..x", "unexpected '.'"),
        ("", "empty"),
        ("sources.stripe api_key", "segments are joined by dots"),
    ],
)
def test_set_rejects_paths_that_do_not_fit(store, path, message):
    """Paths that are unreadable or collide with the file's structure are rejected and change nothing."""
    text = '[sources.stripe]\napi_key = "x"\nendpoints = ["a"]\n'
    write(store, text)
    with pytest.raises(InvalidSecretPath) as caught:
        store.set(path, "value")
    assert message in str(caught.value)
    assert store.path.read_bytes() == text.encode("utf-8")


def test_delete_missing_path(store):
    """Deleting a path without a value raises SecretNotFound and changes nothing."""
    write(store, samples.DLT_INIT)
    with pytest.raises(SecretNotFound) as caught:
        store.delete("sources.nothing.here")
    assert "sources.nothing.here" in str(caught.value)
    assert store.path.read_bytes() == samples.DLT_INIT.encode("utf-8")


def test_file_system_errors_are_reported(store):
    """When .dlt is not a folder, reading and writing fail with a clear error instead of an OSError."""
    store.project_root.joinpath(".dlt").write_text("not a folder")
    with pytest.raises(SecretsFileError) as caught:
        store.set("sources.stripe.api_key", "value-123456")
    assert "Cannot lock .dlt/secrets.toml" in str(caught.value)
    with pytest.raises(SecretsFileError) as caught:
        store.load()
    assert "Cannot read .dlt/secrets.toml" in str(caught.value)


def test_array_of_tables_is_refused(store):
    """A value inside an array of tables cannot be addressed by a path; the file stays as it was."""
    text = '[[sources.jobs]]\nname = "a"\n'
    write(store, text)
    with pytest.raises(InvalidSecretPath):
        store.set("sources.jobs.name", "b")
    assert store.path.read_bytes() == text.encode("utf-8")


def _prune(data):
    if isinstance(data, dict):
        pruned = {key: _prune(value) for key, value in data.items()}
        return {key: value for key, value in pruned.items() if value != {}}
    return data


SEGMENTS = st.sampled_from(["sources", "stripe", "hubspot", "credentials", "api_key", "token", "my.key", "ü"])
OPERATIONS = st.lists(
    st.tuples(st.sampled_from(["set", "delete"]), st.lists(SEGMENTS, min_size=2, max_size=4).map(tuple), st.text(max_size=12)),
    min_size=1,
    max_size=8,
)


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(samples.ALL)), operations=OPERATIONS)
def test_random_edits_keep_the_data_model(name, operations):
    """Any sequence of edits yields exactly the data a dict model predicts, or a clean rejection."""
    document = SecretsDocument(samples.ALL[name])
    model = tomllib.loads(samples.ALL[name])
    for action, path, value in operations:
        before = document.text
        try:
            if action == "set":
                document.set(path, value)
            else:
                document.delete(path)
        except (InvalidSecretPath, SecretNotFound):
            assert document.text == before
            continue
        node = model
        for segment in path[:-1]:
            node = node.setdefault(segment, {})
        if action == "set":
            node[path[-1]] = value
        else:
            del node[path[-1]]
        assert _prune(tomllib.loads(document.text)) == _prune(model)
