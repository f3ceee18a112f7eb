import pytest
from axes.models import AccessAttempt
from django.http import HttpResponse, JsonResponse
from django.urls import include, path, reverse
from django.views import View

from accounts.reauth import REAUTHENTICATED_AT_KEY, ReauthenticationRequiredMixin, reauthentication_required
from tests.accounts.two_factor.conftest import EPOCH, PASSWORD, totp_code

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


@reauthentication_required
def sensitive(request):
    return HttpResponse("done")


@reauthentication_required(max_age=60)
def very_sensitive(request):
    return HttpResponse("done")


class SensitiveView(ReauthenticationRequiredMixin, View):
    def get(self, request):
        return HttpResponse("done")

    def post(self, request):
        return HttpResponse("posted")


@reauthentication_required
def api_sensitive(request):
    return JsonResponse({"ok": True})


urlpatterns = [
    path("sensitive/", sensitive),
    path("very-sensitive/", very_sensitive),
    path("sensitive-view/", SensitiveView.as_view()),
    path("api/test/sensitive/", api_sensitive),
    path("", include("dango_site.urls")),
]


@pytest.fixture
def user(make_user):
    return make_user("dave@example.com", PASSWORD)


@pytest.fixture
def user_client(client, user):
    client.force_login(user)
    return client


def confirm(client, **data):
    return client.post(reverse("reauthenticate"), {"password": PASSWORD, **data})


def test_anonymous_sent_to_sign_in(client, db):
    """An anonymous request goes to the sign-in page, or gets 401 as JSON."""
    assert client.get("/sensitive/")["Location"] == f"{reverse('account_login')}?next=/sensitive/"
    assert client.get("/api/test/sensitive/").status_code == 401


def test_not_confirmed_redirects(clock, user_client):
    """Without a recent confirmation a GET is sent to the re-authentication page and back."""
    response = user_client.get("/sensitive/?tab=1")

    assert response.status_code == 302
    assert response["Location"] == "/account/reauthenticate/?next=%2Fsensitive%2F%3Ftab%3D1"


def test_sign_in_does_not_count(clock, client, user):
    """Signing in with the password does not start the re-authentication window."""
    client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})

    assert client.get("/sensitive/")["Location"].startswith(reverse("reauthenticate"))


def test_confirmed_view_runs(clock, user_client):
    """After the password, the view runs and the user returns to where they were going."""
    response = confirm(user_client, next="/sensitive/")

    assert response["Location"] == "/sensitive/"
    assert user_client.get("/sensitive/").content == b"done"
    assert user_client.get("/sensitive-view/").content == b"done"


def test_window_expires(clock, user_client, settings):
    """The confirmation lasts DANGO_REAUTH_TIMEOUT seconds, and max_age shortens it per view."""
    confirm(user_client)

    clock.shift(59)
    assert user_client.get("/very-sensitive/").status_code == 200
    clock.shift(1)
    assert user_client.get("/very-sensitive/").status_code == 302
    clock.shift(539)
    assert user_client.get("/sensitive/").status_code == 200
    clock.shift(1)
    assert user_client.get("/sensitive/").status_code == 302

    settings.DANGO_REAUTH_TIMEOUT = 3600
    assert user_client.get("/sensitive/").status_code == 200


def test_json_request_gets_403(clock, user_client):
    """A JSON request without a recent confirmation gets 403 naming the page to confirm on."""
    response = user_client.get("/api/test/sensitive/")

    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "reauthentication_required"
    assert error["reauthenticate_url"] == "/account/reauthenticate/?next=%2Fapi%2Ftest%2Fsensitive%2F"


def test_post_returns_to_referring_page(clock, user_client):
    """A POST without confirmation redirects back to the page it came from on this site."""
    response = user_client.post("/sensitive-view/", headers={"referer": "http://testserver/account/"})
    outside = user_client.post("/sensitive-view/", headers={"referer": "https://example.net/"})

    assert response["Location"] == "/account/reauthenticate/?next=http%3A%2F%2Ftestserver%2Faccount%2F"
    assert outside["Location"] == "/account/reauthenticate/?next=%2F"


def test_wrong_password_counts_toward_lockout(clock, user_client, user, audit_log):
    """A wrong password on the confirmation page is refused, audited and counted by axes."""
    response = confirm(user_client, password="wrong", next="/sensitive/")

    assert response.status_code == 200
    assert b"The password is not correct" in response.content
    assert REAUTHENTICATED_AT_KEY not in user_client.session
    assert AccessAttempt.objects.get(username=user.email).failures_since_start == 1
    assert audit_log.records("login_failure")[0]["target"]["email"] == user.email


def test_two_factor_user_needs_code(clock, client, enrolled_user, verified_login, audit_log):
    """A user with 2FA must give a code as well; a wrong code is a two_fa_failure."""
    verified_login(client, enrolled_user, reauthenticated=False)

    without = confirm(client)
    wrong = confirm(client, code="000000")
    assert b"This field is required" in without.content
    assert b"That code is not valid" in wrong.content
    assert audit_log.records("two_fa_failure")[0]["details"] == {"reason": "wrong_code"}
    assert client.get("/sensitive/").status_code == 302

    clock.shift(2)
    assert confirm(client, code=totp_code(EPOCH + 2), next="/sensitive/")["Location"] == "/sensitive/"
    assert client.get("/sensitive/").status_code == 200


def test_unsafe_next_ignored(clock, user_client):
    """An off-site next URL on the confirmation page falls back to the account page."""
    response = confirm(user_client, next="https://example.net/steal")

    assert response["Location"] == reverse("account")


def test_user_without_password_or_two_factor(clock, client, make_user):
    """A user with neither a password nor 2FA is told to set a password first."""
    user = make_user("social@example.com", password=None)
    client.force_login(user)

    response = client.post(reverse("reauthenticate"), {"next": "/sensitive/"})

    assert b"Set a password first" in response.content


def test_confirmation_rate_limited(clock, user_client, user):
    """More than ten confirmation attempts in five minutes get 429."""
    for _ in range(10):
        confirm(user_client, password="")

    response = confirm(user_client)

    assert response.status_code == 429
    assert REAUTHENTICATED_AT_KEY not in user_client.session
