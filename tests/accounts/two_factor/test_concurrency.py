"""Two simultaneous requests with one code: exactly one may pass.

Each request runs in its own thread with its own database connection, so
the row lock taken by django_otp.verify_token (SQLite: the immediate
transaction; PostgreSQL: SELECT ... FOR UPDATE) is what decides.
"""

import threading

import pytest
from django.db import connection
from django.test import RequestFactory

from accounts.models import User
from accounts.twofactor.verification import verify_code
from tests.accounts.two_factor.conftest import EPOCH, totp_code

THREADS = 2


def _verify_at_once(user_id: int, code: str) -> list:
    barrier = threading.Barrier(THREADS)
    results = []
    errors = []

    def attempt():
        try:
            user = User.objects.get(pk=user_id)
            request = RequestFactory().post("/login/two-factor/")
            request.session = {}
            barrier.wait(timeout=10)
            results.append(verify_code(request, user, code))
        except Exception as error:  # noqa: BLE001 - reported to the test thread below.
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(results) == THREADS
    return results


def _check_totp_replay(enrolled_user):
    results = _verify_at_once(enrolled_user.pk, totp_code(EPOCH))

    assert sorted(result.accepted for result in results) == [False, True]
    refused = next(result for result in results if not result.accepted)
    assert refused.failure == "replayed"


def _check_recovery_code(enrolled_user):
    results = _verify_at_once(enrolled_user.pk, enrolled_user.recovery_codes[0])

    assert sorted(result.accepted for result in results) == [False, True]
    assert User.objects.get(pk=enrolled_user.pk).recoverycodedevice_set.get().remaining() == 9


@pytest.mark.django_db(transaction=True)
def test_concurrent_totp_replay_sqlite(clock, enrolled_user):
    """Two simultaneous requests with the same TOTP code: one accepted, one refused as replayed."""
    _check_totp_replay(enrolled_user)


@pytest.mark.django_db(transaction=True)
def test_concurrent_recovery_code_sqlite(enrolled_user):
    """Two simultaneous requests with the same recovery code: exactly one accepted."""
    _check_recovery_code(enrolled_user)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_totp_replay_postgres(clock, enrolled_user):
    """On PostgreSQL the row lock lets exactly one of two simultaneous requests use a TOTP code."""
    _check_totp_replay(enrolled_user)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_recovery_code_postgres(enrolled_user):
    """On PostgreSQL exactly one of two simultaneous requests can use a recovery code."""
    _check_recovery_code(enrolled_user)
