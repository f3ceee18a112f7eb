import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.twofactor import devices

pytestmark = pytest.mark.django_db

KEY_HEX = "3132333435363738393031323334353637383930"


def _count_user_list_queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/admin/accounts/user/")
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_user_list_queries_do_not_grow_with_users(admin_client, make_user):
    """The user list's query count stays the same from 5 to 40 users, 2FA column included."""
    for number in range(5):
        make_user(f"first{number}@example.com")
    few = _count_user_list_queries(admin_client)

    for number in range(35):
        user = make_user(f"more{number}@example.com")
        if number % 3 == 0:
            devices.enable(user, KEY_HEX, confirmed_step=-1)
    many = _count_user_list_queries(admin_client)

    assert many == few


def test_user_list_shows_two_factor_state(admin_client, make_user):
    enrolled = make_user("enrolled@example.com")
    devices.enable(enrolled, KEY_HEX, confirmed_step=-1)
    make_user("plain@example.com")
    response = admin_client.get("/admin/accounts/user/?two_factor=yes")
    assert b"enrolled@example.com" in response.content
    assert b"plain@example.com" not in response.content
    enrolled_row = admin_client.get("/admin/accounts/user/?q=enrolled@").content
    plain_row = admin_client.get("/admin/accounts/user/?q=plain@").content
    # Both rows are active, so each has one True for "active"; the second
    # boolean column is 2FA.
    assert enrolled_row.count(b'alt="True"') == 2
    assert plain_row.count(b'alt="True"') == 1
    assert plain_row.count(b'alt="False"') == 1
