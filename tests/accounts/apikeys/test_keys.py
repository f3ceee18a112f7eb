import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.apikeys.authentication import find_key
from accounts.apikeys.keys import KEY_PREFIX, generate_key, hash_key, is_well_formed
from accounts.apikeys.models import ApiKey

pytestmark = pytest.mark.django_db


def test_generated_key_format():
    """A key is dango_ak_ and 43 URL-safe base64 characters (32 random bytes)."""
    generated = generate_key()
    assert generated.raw.startswith(KEY_PREFIX)
    assert re.fullmatch(r"dango_ak_[A-Za-z0-9_-]{43}", generated.raw)
    assert is_well_formed(generated.raw)


def test_generated_keys_differ():
    assert len({generate_key().raw for _ in range(50)}) == 50


def test_display_prefix_is_start_of_key():
    generated = generate_key()
    assert generated.raw.startswith(generated.prefix)
    assert len(generated.prefix) == len(KEY_PREFIX) + 8


def test_hash_is_sha256_of_whole_key():
    generated = generate_key()
    assert generated.hash == hash_key(generated.raw)
    assert re.fullmatch(r"[0-9a-f]{64}", generated.hash)


@pytest.mark.parametrize("value", [
    "", "dango_ak_", "dango_ak_" + "a" * 42, "dango_ak_" + "a" * 44, "DANGO_AK_" + "a" * 43,
    "dango_ak_" + "a" * 42 + "=", "dango_ak_" + "a" * 42 + "\n", "xdango_ak_" + "a" * 43,
])
def test_malformed_values_are_not_keys(value):
    assert not is_well_formed(value)


def test_only_hash_and_prefix_are_stored(admin_user, make_key):
    """The database row holds the hash and display prefix, never the key itself."""
    created = make_key(admin_user)
    row = ApiKey.objects.values().get(pk=created.key.pk)
    assert created.raw not in {str(value) for value in row.values()}
    assert row["key_hash"] == hash_key(created.raw)
    assert row["prefix"] == created.raw[:17]


def test_key_hash_has_unique_index():
    assert ApiKey._meta.get_field("key_hash").unique


def test_lookup_is_one_query_by_hash(admin_user, make_key):
    """Finding a key is one indexed query on the hash, whatever the number of stored keys."""
    for number in range(15):
        make_key(admin_user, name=f"key {number}")
    created = make_key(admin_user, name="wanted")
    with CaptureQueriesContext(connection) as queries:
        found = find_key(created.raw)
    assert found.pk == created.key.pk
    assert len(queries) == 1
    assert hash_key(created.raw) in queries[0]["sql"]
