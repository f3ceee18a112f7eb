"""Clearing lockouts by hand: the one function behind the command and the admin action."""

import logging
from dataclasses import dataclass

from axes.models import AccessAttempt
from django.http import HttpRequest

from accounts import signals
from accounts.bruteforce import gate
from accounts.bruteforce.identity import normalize_identifier

logger = logging.getLogger("accounts")


@dataclass(frozen=True)
class UnlockResult:
    """Counts of an unlock: (email, IP) pairs with failures, how many of them were locked, and their failures."""

    pairs: int
    locked_pairs: int
    failures: int

    @property
    def cleared(self) -> bool:
        return self.pairs > 0


def unlock(email: str, ip_address: str | None = None, *, by=None, request: HttpRequest | None = None) -> UnlockResult:
    """Clear the failed sign-ins of ``email`` (from ``ip_address`` only, if given).

    Sends ``accounts.signals.account_unlocked`` once when anything was
    cleared, and nothing otherwise. ``by`` is the user who asked, None for
    the command line.
    """
    identifier = normalize_identifier(email)
    cleared = gate.clear(identifier, ip_address)
    attempts = AccessAttempt.objects.filter(username=identifier)
    if ip_address is not None:
        attempts = attempts.filter(ip_address=ip_address)
    attempts.delete()

    result = UnlockResult(pairs=cleared.pairs, locked_pairs=cleared.locked_pairs, failures=cleared.failures)
    if result.cleared:
        logger.info(
            "Cleared %d failed sign-ins (%d locked pairs) of one identifier, by user %s",
            result.failures,
            result.locked_pairs,
            getattr(by, "pk", None),
        )
        signals.account_unlocked.send(
            sender=UnlockResult, email=identifier, ip_address=ip_address, by=by, request=request
        )
    return result
