from datetime import datetime, timedelta, timezone

import pytest
from django.core.checks import run_checks

from accounts.bruteforce import checks, gate
from accounts.bruteforce.identity import get_login_identifier, normalize_identifier
from accounts.bruteforce.models import SignInCounter

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
COOL_OFF = timedelta(minutes=15)
PAIR = ("alice@example.com", "203.0.113.70")


def reserve(now=T0):
    return gate.reserve(*PAIR, now=now, limit=5, cool_off_period=COOL_OFF)


def record_failure(now=T0, reserved=True):
    return gate.record_failure(*PAIR, reserved=reserved, now=now, limit=5, cool_off_period=COOL_OFF)


def test_places_run_out_while_checks_run():
    """Five checks still running take every place; the sixth is refused without a lock."""
    admissions = [reserve() for _ in range(6)]
    assert [a.allowed for a in admissions] == [True] * 5 + [False]
    assert admissions[5].locked is False
    assert admissions[5].retry_after == 1


def test_released_place_admits_again():
    """A released check frees its place."""
    for _ in range(5):
        reserve()
    gate.release(*PAIR)
    assert reserve().allowed


def test_release_never_goes_below_zero():
    """Releasing more than was reserved leaves pending at zero."""
    reserve()
    gate.release(*PAIR, count=3)
    assert SignInCounter.objects.get().pending == 0


def test_fifth_failure_locks_once():
    """Only the failure that reaches the limit reports locked_now."""
    outcomes = []
    for _ in range(5):
        reserve()
    for _ in range(5):
        outcomes.append(record_failure())
    outcomes.append(record_failure(reserved=False))
    assert [o.locked_now for o in outcomes] == [False, False, False, False, True, False]
    assert outcomes[4].retry_after == 900
    counter = SignInCounter.objects.get()
    assert counter.failures == 6
    assert counter.pending == 0
    assert counter.locked_until == T0 + COOL_OFF


def test_locked_pair_refuses_with_time_left():
    """A locked pair rejects the attempt with the time the lock still lasts."""
    for _ in range(5):
        record_failure(reserved=False)
    admission = reserve(now=T0 + timedelta(minutes=5))
    assert admission == gate.Admission(allowed=False, locked=True, retry_after=600)


def test_unreserved_failure_counts():
    """A failure recorded without a reservation (a second-factor code) still counts."""
    reserve()
    record_failure(reserved=False)
    counter = SignInCounter.objects.get()
    assert (counter.failures, counter.pending) == (1, 1)


def test_lock_expires_and_counts_afresh():
    """After the lock, the next check is admitted and the counter starts from zero."""
    for _ in range(5):
        record_failure(reserved=False)
    later = T0 + COOL_OFF
    assert reserve(now=later).allowed
    assert record_failure(now=later).failures == 1


def test_idle_counter_expires():
    """Failures and stale reservations lapse after a cool-off period without attempts."""
    for _ in range(3):
        reserve()
    record_failure()
    assert gate.get_counter(*PAIR, now=T0 + COOL_OFF - timedelta(seconds=1)) is not None
    assert gate.get_counter(*PAIR, now=T0 + COOL_OFF) is None
    assert reserve(now=T0 + COOL_OFF).allowed
    assert SignInCounter.objects.get().pending == 1


def test_clear_reports_what_it_held():
    """clear() deletes the matching counters and reports failures and locked pairs."""
    for _ in range(5):
        record_failure(reserved=False)
    gate.record_failure("alice@example.com", "203.0.113.71", reserved=False, now=T0, limit=5,
                        cool_off_period=COOL_OFF)
    gate.record_failure("bob@example.com", "203.0.113.70", reserved=False, now=T0, limit=5,
                        cool_off_period=COOL_OFF)
    cleared = gate.clear("alice@example.com", now=T0)
    assert cleared == gate.ClearedCounters(pairs=2, locked_pairs=1, failures=6)
    assert list(SignInCounter.objects.values_list("identifier", flat=True)) == ["bob@example.com"]


def test_clear_either_matches_identifier_or_ip():
    """clear(either=True) deletes counters matching the identifier or the IP."""
    for identifier, ip in [PAIR, ("bob@example.com", PAIR[1]), ("carol@example.com", "203.0.113.99")]:
        gate.record_failure(identifier, ip, reserved=False, now=T0, limit=5, cool_off_period=COOL_OFF)
    gate.clear("alice@example.com", PAIR[1], either=True, now=T0)
    assert list(SignInCounter.objects.values_list("identifier", flat=True)) == ["carol@example.com"]


def test_delete_expired_keeps_live_counters():
    """delete_expired() removes ended lockouts and idle counters only."""
    gate.record_failure("idle@example.com", "203.0.113.1", reserved=False, now=T0 - COOL_OFF, limit=5,
                        cool_off_period=COOL_OFF)
    for _ in range(5):
        gate.record_failure("ended@example.com", "203.0.113.2", reserved=False, now=T0 - COOL_OFF, limit=5,
                            cool_off_period=COOL_OFF)
    for _ in range(5):
        record_failure(reserved=False)
    assert gate.delete_expired(now=T0) == 2
    assert list(SignInCounter.objects.values_list("identifier", flat=True)) == ["alice@example.com"]


@pytest.mark.parametrize(
    "value,expected",
    [
        (" Alice@Example.COM ", "alice@example.com"),
        (None, ""),
        ("x" * 255, "x" * 255),
    ],
)
def test_normalize_identifier(value, expected):
    """Identifiers are stripped and lower-cased."""
    assert normalize_identifier(value) == expected


def test_overlong_identifier_is_hashed():
    """An identifier too long to store becomes a fixed-length digest, distinct per value."""
    first, second = normalize_identifier("a" * 300), normalize_identifier("a" * 301)
    assert first.startswith("sha256:")
    assert len(first) == 71
    assert first != second


def test_identifier_sources(rf):
    """The identifier comes from email, username or login credentials, then from the POSTed form."""
    request = rf.post("/", {"login": " Carol@Example.com"})
    assert get_login_identifier(request, {"email": "Alice@Example.com", "password": "x"}) == "alice@example.com"
    assert get_login_identifier(request, {"email": None, "username": "Bob@Example.com"}) == "bob@example.com"
    assert get_login_identifier(request, {"email": None}) == "carol@example.com"
    assert get_login_identifier(rf.get("/"), {}) == ""


def test_settings_pass_lockout_checks():
    """The project's settings raise none of the lockout checks."""
    ids = {message.id for message in run_checks(tags=["security"])}
    assert not ids & {"accounts.E101", "accounts.E102", "accounts.E103", "accounts.E104"}


@pytest.mark.parametrize(
    "setting,value,error",
    [
        ("AXES_HANDLER", "axes.handlers.database.AxesDatabaseHandler", checks.E101),
        ("AXES_LOCKOUT_PARAMETERS", ["ip_address"], checks.E102),
        ("AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT", True, checks.E103),
        ("AXES_COOLOFF_TIME", None, checks.E104),
    ],
)
def test_lockout_checks_flag_misconfiguration(settings, setting, value, error):
    """Each setting the gate depends on is checked."""
    setattr(settings, setting, value)
    assert checks.check_lockout_settings() == [error]
