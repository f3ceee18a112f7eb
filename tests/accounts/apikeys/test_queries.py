"""The number of database queries of a key-authenticated request does not grow with the data."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from rbac.roles import Role

pytestmark = pytest.mark.django_db

# Key lookup with its owner (one join) and the owner's role.
AUTHENTICATION_QUERIES = 2
# Plus the write of last use, at most once a minute per key.
LAST_USE_QUERIES = 1


def fill_database(make_user, make_key, users: int, keys_each: int) -> None:
    for number in range(users):
        user = make_user(f"filler{number}@example.com", role=list(Role)[number % 3].value)
        for key_number in range(keys_each):
            make_key(user, name=f"filler key {key_number}")


@pytest.mark.parametrize("users,keys_each", [(0, 0), (12, 3)])
def test_me_query_count_is_constant(key_client, admin_user, make_user, make_key, django_assert_num_queries,
                                    users, keys_each):
    fill_database(make_user, make_key, users, keys_each)
    created = make_key(admin_user, scopes=["health.view", "users.view"])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {created.raw}"}
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        with django_assert_num_queries(AUTHENTICATION_QUERIES + LAST_USE_QUERIES):
            assert key_client.get("/api/me", **headers).status_code == 200
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        with django_assert_num_queries(AUTHENTICATION_QUERIES):
            assert key_client.get("/api/me", **headers).status_code == 200


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_query_count_same_for_every_role(key_client, make_user, make_key, django_assert_num_queries, role):
    user = make_user(f"{role}-owner@example.com", role=role)
    created = make_key(user)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {created.raw}"}
    key_client.get("/api/me", **headers)
    with django_assert_num_queries(AUTHENTICATION_QUERIES):
        assert key_client.get("/api/me", **headers).status_code == 200


@pytest.mark.parametrize("users", [2, 25])
def test_user_list_query_count_is_constant(key_client, admin_user, make_user, make_key,
                                           django_assert_num_queries, users):
    """Listing users costs count + page + one prefetch of roles, however many users there are."""
    fill_database(make_user, make_key, users, 0)
    created = make_key(admin_user)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {created.raw}"}
    key_client.get("/api/me", **headers)
    with django_assert_num_queries(AUTHENTICATION_QUERIES + 3):
        response = key_client.get("/api/users?limit=200", **headers)
    assert response.status_code == 200
    assert response.json()["count"] == users + 1
