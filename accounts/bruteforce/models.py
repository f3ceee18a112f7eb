from django.db import models


class SignInCounter(models.Model):
    """Password checks of one (identifier, client IP) pair: the lockout state.

    ``identifier`` is the submitted email, normalised by
    ``accounts.bruteforce.identity``; a pair exists whether or not an account
    has that email. ``ip_address`` comes from ``hardening.client_ip`` and is
    "" when unknown. ``failures`` counts failed checks since the counter last
    started. ``pending`` counts checks that were admitted and have not ended
    yet. Each of them ends as a failure, as a sign-in (which deletes the
    row) or as a release when its request finishes. ``last_attempt_at`` is when the last
    check was admitted or the last failure recorded. ``locked_until`` is set
    once, when ``failures`` reaches the limit, and stays None otherwise.
    """

    identifier = models.CharField(max_length=255)
    ip_address = models.CharField(max_length=64, blank=True)
    failures = models.PositiveIntegerField(default=0)
    pending = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "accounts"
        verbose_name = "sign-in counter"
        constraints = [
            models.UniqueConstraint(fields=["identifier", "ip_address"], name="accounts_signincounter_pair_unique")
        ]
        indexes = [models.Index(fields=["ip_address"], name="accounts_signincounter_ip")]

    def __str__(self) -> str:
        return f"{self.identifier} from {self.ip_address or 'unknown IP'}"
