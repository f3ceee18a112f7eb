"""The axes handler (AXES_HANDLER): per-IP rate limit and exact pair lockout.

axes calls ``is_allowed()`` from ``AxesStandaloneBackend``, the first
authentication backend, so it runs before any other backend hashes a
password. That happens on every path that calls ``authenticate()`` with a
request: the allauth sign-in form (where the Django admin login sends its
users) and allauth re-authentication. The second-factor code step calls it
through ``accounts.twofactor.lockout`` before it checks a code. There this
handler

1. counts the attempt against the client IP's sign-in rate limit, across
   all emails, and
2. reserves a place for the (email, client IP) pair in
   ``accounts.bruteforce.gate``.

A rejected attempt leaves ``request.dango_sign_in_rejection`` for the
lockout response (``accounts.bruteforce.responses``). The lockout signal
``axes.signals.user_locked_out`` is sent exactly once per lockout, by the
failure that reaches the limit. axes' own handler would send it again for
every rejected attempt and for parallel failures past the limit.

axes' AccessAttempt rows are still written, so the admin and the axes_*
commands keep working, but the gate's counters decide.
"""

import logging
from collections import Counter
from dataclasses import dataclass

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import (
    get_client_username,
    get_cool_off,
    get_failure_limit,
    get_query_str,
)
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.db import router, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.http import HttpRequest

from accounts import ratelimit
from accounts.bruteforce import gate, limits

logger = logging.getLogger("accounts")

# Request attributes shared with the middleware, the lockout response and the audit receiver.
RESERVATIONS_ATTRIBUTE = "dango_sign_in_reservations"
REJECTION_ATTRIBUTE = "dango_sign_in_rejection"
FAILURE_REASON_ATTRIBUTE = "dango_login_failure_reason"


@dataclass(frozen=True)
class Rejection:
    """The reason a sign-in attempt was rejected without checking its password.

    ``reason`` is "locked" (the pair is locked, or its places are taken by
    checks still running) or "rate_limited" (the client IP's sign-in limit).
    ``rate`` and ``rate_result`` are set for "rate_limited" only.
    """

    reason: str
    retry_after: int
    rate: ratelimit.RateLimit | None = None
    rate_result: ratelimit.RateLimitResult | None = None


def get_pair(request: HttpRequest, credentials: dict | None) -> tuple[str, str]:
    """Return the (identifier, client IP) pair of an attempt; axes must have updated the request."""
    return get_client_username(request, credentials) or "", request.axes_ip_address or ""


def _reservations(request: HttpRequest) -> Counter:
    reservations = getattr(request, RESERVATIONS_ATTRIBUTE, None)
    if reservations is None:
        reservations = Counter()
        setattr(request, RESERVATIONS_ATTRIBUTE, reservations)
    return reservations


def release_reservations(request: HttpRequest) -> None:
    """Release the places this request still has, once its response is ready.

    A check that succeeded without a sign-in (a re-authentication, or a
    right password followed by the second-factor step) ends here.
    """
    reservations = getattr(request, RESERVATIONS_ATTRIBUTE, None)
    if not reservations:
        return
    for (identifier, ip_address), count in reservations.items():
        if count > 0:
            gate.release(identifier, ip_address, count)
    reservations.clear()


def _reject(request: HttpRequest, rejection: Rejection) -> bool:
    setattr(request, REJECTION_ATTRIBUTE, rejection)
    setattr(request, FAILURE_REASON_ATTRIBUTE, rejection.reason)
    return False


class LockoutHandler(AxesDatabaseHandler):
    """axes' database handler, with the gate as the authority on lockouts."""

    def is_allowed(self, request, credentials: dict | None = None) -> bool:
        """Admit one password check and reserve its place in the gate, or reject it.

        Call it once per password check, before the check, as
        ``AxesStandaloneBackend.authenticate()`` does.
        """
        if settings.AXES_ONLY_ADMIN_SITE and not self.is_admin_request(request):
            return True
        if self.is_blacklisted(request, credentials):
            return False
        if self.is_whitelisted(request, credentials):
            return True

        identifier, ip_address = get_pair(request, credentials)
        rate = limits.sign_in_per_ip()
        result = ratelimit.hit(rate, ip_address)
        if not result.allowed:
            return _reject(
                request, Rejection("rate_limited", result.retry_after, rate=rate, rate_result=result)
            )

        admission = gate.reserve(
            identifier,
            ip_address,
            limit=get_failure_limit(request, credentials),
            cool_off_period=get_cool_off(request),
        )
        if not admission.allowed:
            return _reject(request, Rejection("locked", admission.retry_after))
        _reservations(request)[(identifier, ip_address)] += 1
        return True

    def is_locked(self, request, credentials: dict | None = None) -> bool:
        return gate.is_locked(*get_pair(request, credentials))

    def get_failures(self, request, credentials: dict | None = None) -> int:
        return gate.get_failures(*get_pair(request, credentials))

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        """Record a failed check; the failure that reaches the limit locks the pair and announces it."""
        if request is None:
            logger.error("A failed sign-in arrived without a request; the lockout cannot count it.")
            return
        if request.axes_locked_out:
            # Rejected in is_allowed() before any password check: nothing to
            # count, and the lockout was announced when it began.
            request.axes_credentials = credentials
            return
        if self.is_whitelisted(request, credentials):
            return

        self.clean_expired_user_attempts(request, credentials)
        identifier, ip_address = get_pair(request, credentials)
        reservations = _reservations(request)
        reserved = reservations[(identifier, ip_address)] > 0
        if reserved:
            reservations[(identifier, ip_address)] -= 1
        outcome = gate.record_failure(
            identifier,
            ip_address,
            reserved=reserved,
            limit=get_failure_limit(request, credentials),
            cool_off_period=get_cool_off(request),
        )
        setattr(request, FAILURE_REASON_ATTRIBUTE, "invalid_credentials")
        self._record_access_attempt(request, identifier)
        request.axes_failures_since_start = outcome.failures

        if outcome.locked:
            # The response to this attempt is already the lockout, with its Retry-After.
            request.axes_locked_out = True
            request.axes_credentials = credentials
        if outcome.locked_now:
            # Vague on purpose: the audit record names the email and address.
            logger.warning("An (email, IP) pair was locked after %d failed sign-ins on %s", outcome.failures,
                           request.axes_path_info)
            user_locked_out.send("axes", request=request, username=identifier, ip_address=ip_address)

    def reset_user_attempts(self, request, credentials: dict | None = None) -> int:
        """Clear only the signed-in pair's counter (AXES_RESET_ON_SUCCESS)."""
        identifier, ip_address = get_pair(request, credentials)
        gate.clear(identifier, ip_address)
        _reservations(request).pop((identifier, ip_address), None)
        return super().reset_user_attempts(request, credentials)

    def reset_attempts(self, *, ip_address=None, username=None, ip_or_username: bool = False) -> int:
        gate.clear(username, ip_address, either=ip_or_username)
        return super().reset_attempts(ip_address=ip_address, username=username, ip_or_username=ip_or_username)

    def clean_expired_user_attempts(self, request=None, credentials: dict | None = None) -> int:
        gate.delete_expired()
        return super().clean_expired_user_attempts(request, credentials)

    def _record_access_attempt(self, request, identifier: str) -> None:
        """Write axes' AccessAttempt row, for the admin and the axes_* commands."""
        get_data = get_query_str(request.GET).replace("\0", "0x00")
        post_data = get_query_str(request.POST).replace("\0", "0x00")
        with transaction.atomic(using=router.db_for_write(AccessAttempt)):
            attempt, created = AccessAttempt.objects.select_for_update().get_or_create(
                username=identifier,
                ip_address=request.axes_ip_address,
                user_agent=request.axes_user_agent,
                defaults={
                    "get_data": get_data,
                    "post_data": post_data,
                    "http_accept": request.axes_http_accept,
                    "path_info": request.axes_path_info,
                    "failures_since_start": 1,
                    "attempt_time": request.axes_attempt_time,
                },
            )
            if not created:
                separator = "\n---------\n"
                attempt.get_data = Concat("get_data", Value(separator + get_data))
                attempt.post_data = Concat("post_data", Value(separator + post_data))
                attempt.http_accept = request.axes_http_accept
                attempt.path_info = request.axes_path_info
                attempt.failures_since_start = F("failures_since_start") + 1
                attempt.attempt_time = request.axes_attempt_time
                attempt.save()
