"""The second-factor step of sign-in, as an allauth login stage.

Every allauth sign-in (password, Google, GitHub, any social provider) runs
the adapter's login stages after the first factor and calls Django's
``login()`` only when all of them are done. This stage stops there for a
user with two-factor authentication: the request stays anonymous and the
pending sign-in is kept server-side, in the session under allauth's
``account_login`` key, until ``two_factor_challenge`` accepts a code.

Pending state, in the stage's ``state`` dict:

- ``started_at``: epoch seconds of the first factor;
- ``failures``: wrong codes so far;
- ``id``: a random key for the rate limit;
- ``email``: the address typed at the password step, or the user's email
  after social sign-in. Axes counts failures under it.

NOTE: LoginStageController and the stash functions are allauth internals
(read at 65.22.1, no public docs); re-check them when upgrading allauth.
"""

import secrets
import time

from allauth.account.internal.stagekit import clear_login, stash_login
from allauth.account.stages import LoginStage, LoginStageController
from django.http import HttpResponseRedirect
from django.urls import reverse

from accounts.twofactor.app_settings import app_settings
from accounts.twofactor.devices import is_enrolled

STAGE_KEY = "dango_two_factor"


class TwoFactorStage(LoginStage):
    key = STAGE_KEY
    urlname = "two_factor_challenge"

    def handle(self):
        user = self.login.user
        if user is None or not is_enrolled(user):
            return None, True
        self.state.update(
            started_at=time.time(),
            failures=0,
            id=secrets.token_urlsafe(16),
            email=self.login.email or user.email,
        )
        return HttpResponseRedirect(reverse(self.urlname)), True


class PendingSignIn:
    """A sign-in waiting for its second factor, loaded from the session."""

    def __init__(self, request, stage: TwoFactorStage):
        self.request = request
        self.stage = stage

    @classmethod
    def from_request(cls, request) -> "PendingSignIn | None":
        stage = LoginStageController.enter(request, STAGE_KEY)
        if stage is None or stage.login.user is None or "started_at" not in stage.state:
            return None
        return cls(request, stage)

    @property
    def user(self):
        return self.stage.login.user

    @property
    def id(self) -> str:
        return self.stage.state["id"]

    @property
    def email(self) -> str:
        return self.stage.state.get("email") or self.user.email

    @property
    def failures(self) -> int:
        return int(self.stage.state.get("failures", 0))

    def seconds_left(self) -> int:
        return max(0, int(self.stage.state["started_at"] + app_settings.PENDING_TIMEOUT - time.time()))

    def is_expired(self) -> bool:
        return time.time() - self.stage.state["started_at"] >= app_settings.PENDING_TIMEOUT

    def record_failure(self) -> int:
        """Count a wrong code in the session; return the count so far."""
        # NOTE: the session is written last-writer-wins, so simultaneous
        # wrong codes can each see the old count. The per-sign-in rate limit
        # (an atomic cache counter) and the axes lockout bound that burst.
        self.stage.state["failures"] = self.failures + 1
        stash_login(self.request, self.stage.login)
        return self.failures

    def cancel(self) -> None:
        clear_login(self.request)

    def complete(self, device):
        """Finish the sign-in: Django's login(), then allauth's post-login redirect.

        django-otp stores ``user.otp_device`` in the session when Django
        sends user_logged_in, which marks the new session as verified.
        login() also rotates the session key before that signal, so the
        UserSession row recorded on it carries the final key.
        """
        self.user.otp_device = device
        return self.stage.exit()
