"""Two hundred simultaneous wrong passwords for one account against 4 gunicorn workers on PostgreSQL and Redis.

Each attempt carries its own wrong password and the counting hasher writes
one line per hash, so the wrong passwords found in its log are the attempts
whose password was checked.
"""

from collections import Counter

import pytest

from tests.accounts.bruteforce.counting_hasher import password_digest
from tests.scale.conftest import PASSWORD
from tests.scale.traffic import LOGIN_PATH, burst, open_form, post_form

pytestmark = [pytest.mark.scale, pytest.mark.postgres, pytest.mark.redis]

ATTEMPTS = 200
LIMIT = 5


def test_burst_checks_at_most_five_passwords(scale_site, create_user):
    """At most 5 of 200 simultaneous wrong passwords are checked; the account locks once, against every later try."""
    email = create_user("alice@example.com")
    cookie, token = open_form(scale_site)
    passwords = [f"wrong-{number}-{email}" for number in range(ATTEMPTS)]
    before = len(scale_site.audit_records())

    responses = burst([
        lambda password=password: post_form(scale_site, LOGIN_PATH, {"login": email, "password": password},
                                            cookie, token)
        for password in passwords
    ])

    hashed = set(scale_site.hasher_log.read_text().splitlines()) if scale_site.hasher_log.exists() else set()
    checked = [password for password in passwords if password_digest(password) in hashed]
    # Exactly the limit: the lockout neither lets a sixth check through nor refuses before the fifth.
    assert len(checked) == LIMIT
    statuses = Counter(response.status for response in responses)
    # Four checked failures get the form again; the fifth and every refused attempt get the lockout page.
    assert statuses == {200: LIMIT - 1, 429: ATTEMPTS - LIMIT + 1}
    assert all(int(response.headers["retry-after"]) > 0 for response in responses if response.status == 429)

    records = scale_site.audit_records()[before:]
    events = Counter(record["event"] for record in records)
    assert events["account_locked"] == 1
    assert events["login_failure"] == ATTEMPTS
    locked = next(record for record in records if record["event"] == "account_locked")
    assert locked["target"]["email"] == email
    assert locked["ip"] == "127.0.0.1"

    # The right password from the same address is refused too, and is not checked.
    hashes_of_right_password = scale_site.hasher_log.read_text().splitlines().count(password_digest(PASSWORD))
    right = post_form(scale_site, LOGIN_PATH, {"login": email, "password": PASSWORD}, cookie, token)
    assert right.status == 429
    assert scale_site.hasher_log.read_text().splitlines().count(password_digest(PASSWORD)) == hashes_of_right_password
