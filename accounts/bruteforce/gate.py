"""Exact lockout counting for (identifier, client IP) pairs in the database.

axes checks a pair's failures before the password check and records the
failure after it, so a burst of parallel attempts all pass the check before
any failure is recorded. The gate closes that gap. Before a password is
checked, ``reserve()`` admits the attempt only while failures plus checks
still running stay below the limit. It decides in one transaction that
locks the pair's row: ``SELECT … FOR UPDATE`` on PostgreSQL, and on SQLite
the project's IMMEDIATE transactions take the database write lock at BEGIN.
So N parallel attempts run at most ``limit`` password checks, whatever the
number of threads, processes or hosts sharing the database.

Every function takes ``now`` so callers and tests control the clock; the
defaults read the failure limit and cool-off from the AXES_* settings.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from axes.helpers import get_cool_off, get_failure_limit
from django.db import router, transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.utils import timezone

from accounts.bruteforce.models import SignInCounter


@dataclass(frozen=True)
class Admission:
    """The gate's decision on one attempt.

    ``locked`` is True when the pair is locked, and False when the attempt
    was rejected because a limit's worth of checks is still running.
    ``retry_after`` is in seconds and 0 when the attempt is allowed.
    """

    allowed: bool
    locked: bool = False
    retry_after: int = 0


@dataclass(frozen=True)
class FailureOutcome:
    """The pair's state after a failure was recorded.

    ``locked_now`` is true for exactly one failure per lockout: the one
    that reached the limit.
    """

    failures: int
    locked: bool
    locked_now: bool
    retry_after: int


@dataclass(frozen=True)
class ClearedCounters:
    pairs: int
    locked_pairs: int
    failures: int


def failure_limit() -> int:
    return get_failure_limit(None, None)


def cool_off() -> timedelta:
    value = get_cool_off(None)
    if value is None:
        raise ValueError("AXES_COOLOFF_TIME is None; the lockout gate needs a cool-off period such as timedelta(minutes=15).")
    return value


def seconds_until(moment: datetime, now: datetime) -> int:
    """Return whole seconds from ``now`` to ``moment``, at least 1."""
    return max(1, math.ceil((moment - now).total_seconds()))


def _db() -> str:
    return router.db_for_write(SignInCounter)


def _lock_counter(identifier: str, ip_address: str, now: datetime) -> SignInCounter:
    """Return the pair's row, created if missing, locked until the transaction ends.

    Two first attempts may insert at once; ignore_conflicts lets the loser
    fall through to the row the winner created.
    """
    SignInCounter.objects.using(_db()).bulk_create(
        [SignInCounter(identifier=identifier, ip_address=ip_address, last_attempt_at=now)],
        ignore_conflicts=True,
    )
    return SignInCounter.objects.using(_db()).select_for_update().get(identifier=identifier, ip_address=ip_address)


def _expire(counter: SignInCounter, now: datetime, cool_off_period: timedelta) -> None:
    """Start the counter afresh once its lockout ended or it was idle for a cool-off period."""
    if counter.locked_until is not None:
        if counter.locked_until <= now:
            counter.failures = 0
            counter.pending = 0
            counter.locked_until = None
    elif counter.last_attempt_at <= now - cool_off_period:
        counter.failures = 0
        # Checks admitted a whole cool-off ago ended long since; a count left
        # behind by a killed worker must not block the pair for good.
        counter.pending = 0


def reserve(
    identifier: str,
    ip_address: str,
    *,
    now: datetime | None = None,
    limit: int | None = None,
    cool_off_period: timedelta | None = None,
) -> Admission:
    """Admit one password check for the pair, or reject it.

    An admitted check takes one of the pair's ``limit`` places until
    ``record_failure(reserved=True)``, ``release()`` or ``clear()`` ends it.
    """
    now = now or timezone.now()
    limit = limit if limit is not None else failure_limit()
    cool_off_period = cool_off_period or cool_off()
    with transaction.atomic(using=_db()):
        counter = _lock_counter(identifier, ip_address, now)
        _expire(counter, now, cool_off_period)
        if counter.locked_until is not None:
            admission = Admission(allowed=False, locked=True, retry_after=seconds_until(counter.locked_until, now))
        elif counter.failures + counter.pending >= limit:
            # Not locked yet: the remaining places belong to checks still
            # running, which end within moments.
            admission = Admission(allowed=False, locked=False, retry_after=1)
        else:
            counter.pending += 1
            counter.last_attempt_at = now
            admission = Admission(allowed=True)
        counter.save()
    return admission


def record_failure(
    identifier: str,
    ip_address: str,
    *,
    reserved: bool,
    now: datetime | None = None,
    limit: int | None = None,
    cool_off_period: timedelta | None = None,
) -> FailureOutcome:
    """Count one failed check; lock the pair when failures reach ``limit``.

    Pass ``reserved=True`` when ``reserve()`` admitted the check, so its
    place turns into the failure. A caller that checks a secret without
    reserving (a second-factor code, for example) passes False.
    """
    now = now or timezone.now()
    limit = limit if limit is not None else failure_limit()
    cool_off_period = cool_off_period or cool_off()
    with transaction.atomic(using=_db()):
        counter = _lock_counter(identifier, ip_address, now)
        _expire(counter, now, cool_off_period)
        if reserved and counter.pending > 0:
            counter.pending -= 1
        counter.failures += 1
        counter.last_attempt_at = now
        locked_now = counter.locked_until is None and counter.failures >= limit
        if locked_now:
            counter.locked_until = now + cool_off_period
        counter.save()
    locked = counter.locked_until is not None
    return FailureOutcome(
        failures=counter.failures,
        locked=locked,
        locked_now=locked_now,
        retry_after=seconds_until(counter.locked_until, now) if locked else 0,
    )


def release(identifier: str, ip_address: str, count: int = 1) -> None:
    """End ``count`` admitted checks of the pair that neither failed nor signed in."""
    SignInCounter.objects.using(_db()).filter(identifier=identifier, ip_address=ip_address).update(
        pending=Greatest(F("pending") - count, 0)
    )


def get_counter(identifier: str, ip_address: str, *, now: datetime | None = None) -> SignInCounter | None:
    """Return the pair's current counter, or None when it has none or it has expired."""
    now = now or timezone.now()
    counter = SignInCounter.objects.using(_db()).filter(identifier=identifier, ip_address=ip_address).first()
    if counter is None:
        return None
    _expire(counter, now, cool_off())
    if counter.failures == 0 and counter.pending == 0 and counter.locked_until is None:
        return None
    return counter


def get_failures(identifier: str, ip_address: str, *, now: datetime | None = None) -> int:
    counter = get_counter(identifier, ip_address, now=now)
    return counter.failures if counter else 0


def is_locked(identifier: str, ip_address: str, *, now: datetime | None = None) -> bool:
    counter = get_counter(identifier, ip_address, now=now)
    return bool(counter and counter.locked_until is not None)


def get_retry_after(identifier: str, ip_address: str, *, now: datetime | None = None) -> int:
    """Return seconds until the pair's lockout ends, 0 when it is not locked."""
    now = now or timezone.now()
    counter = get_counter(identifier, ip_address, now=now)
    if counter is None or counter.locked_until is None:
        return 0
    return seconds_until(counter.locked_until, now)


def clear(
    identifier: str | None = None,
    ip_address: str | None = None,
    *,
    either: bool = False,
    now: datetime | None = None,
) -> ClearedCounters:
    """Delete the counters matching ``identifier`` and ``ip_address`` and report what they held.

    None matches any value. With ``either`` a counter matching one of the
    two is enough, as axes' ``ip_or_username`` reset does. Counters that
    had already expired are deleted too but not reported.
    """
    now = now or timezone.now()
    if either:
        matching = Q(identifier=identifier) | Q(ip_address=ip_address)
    else:
        matching = Q()
        if identifier is not None:
            matching &= Q(identifier=identifier)
        if ip_address is not None:
            matching &= Q(ip_address=ip_address)
    cool_off_period = cool_off()
    pairs = locked_pairs = failures = 0
    with transaction.atomic(using=_db()):
        counters = list(SignInCounter.objects.using(_db()).select_for_update().filter(matching))
        for counter in counters:
            _expire(counter, now, cool_off_period)
            if counter.failures or counter.locked_until is not None:
                pairs += 1
                failures += counter.failures
                locked_pairs += counter.locked_until is not None
        SignInCounter.objects.using(_db()).filter(pk__in=[counter.pk for counter in counters]).delete()
    return ClearedCounters(pairs=pairs, locked_pairs=locked_pairs, failures=failures)


def delete_expired(*, now: datetime | None = None) -> int:
    """Delete counters whose lockout ended or that were idle for a cool-off period."""
    now = now or timezone.now()
    expired = Q(locked_until__lte=now) | Q(locked_until__isnull=True, last_attempt_at__lte=now - cool_off())
    count, _ = SignInCounter.objects.using(_db()).filter(expired).delete()
    return count
