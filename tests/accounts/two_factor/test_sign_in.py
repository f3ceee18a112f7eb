import pytest
from django.http import JsonResponse
from django.urls import include, path, reverse
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.models import UserSession
from rbac.decorators import permission_required
from tests.accounts.two_factor.conftest import (
    EPOCH,
    PASSWORD,
    sign_in_with_password,
    signed_in_user_id,
    submit_code,
    totp_code,
)

pytestmark = pytest.mark.django_db


@permission_required("health.view")
def api_whoami(request):
    return JsonResponse({"user_id": request.user.pk})


urlpatterns = [
    path("api/test/whoami/", api_whoami),
    path("", include("dango_site.urls")),
]


def test_password_step_redirects_to_code(clock, client, enrolled_user):
    """A correct password for a user with 2FA leads to the code step, not into the site."""
    response = sign_in_with_password(client, enrolled_user.email)

    assert response.status_code == 302
    assert response["Location"] == reverse("two_factor_challenge")
    assert signed_in_user_id(client) is None


@pytest.mark.urls(__name__)
def test_pending_sign_in_is_anonymous(clock, client, enrolled_user, admin_user, enrol):
    """After the password alone, the account page, the admin and the JSON API treat the request as anonymous."""
    enrol(admin_user)
    sign_in_with_password(client, admin_user.email)

    account = client.get(reverse("account"))
    admin_index = client.get("/admin/")
    admin_users = client.get("/admin/accounts/user/")
    api = client.get("/api/test/whoami/")
    api_by_accept = client.get(reverse("account"), headers={"accept": "application/json"})

    assert account.status_code == 302
    assert account["Location"].startswith(reverse("account_login"))
    assert admin_index.status_code == 302
    assert admin_index["Location"].startswith("/admin/login/")
    assert admin_users.status_code == 302
    assert api.status_code == 401
    assert api.json()["error"]["code"] == "not_authenticated"
    assert api_by_accept.status_code == 302
    assert signed_in_user_id(client) is None
    assert not UserSession.objects.filter(user=admin_user).exists()


def test_code_completes_sign_in(clock, client, enrolled_user, audit_log):
    """The right code signs the user in with a verified session under a new session key."""
    sign_in_with_password(client, enrolled_user.email)
    pending_key = client.session.session_key

    response = submit_code(client, totp_code(EPOCH))

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert signed_in_user_id(client) == str(enrolled_user.pk)
    session = client.session
    assert session.session_key != pending_key
    assert session[DEVICE_ID_SESSION_KEY].startswith("otp_totp.totpdevice/")
    assert UserSession.objects.get(user=enrolled_user).session_key == session.session_key
    assert client.get(reverse("account")).status_code == 200
    assert audit_log.events().count("login_success") == 1


def test_sign_in_follows_next(clock, client, enrolled_user):
    """A next URL given at the password step is where the code step ends."""
    sign_in_with_password(client, enrolled_user.email, next_url=reverse("account"))

    response = submit_code(client, totp_code(EPOCH))

    assert response["Location"] == reverse("account")


def test_recovery_code_completes_sign_in(clock, client, enrolled_user, audit_log):
    """A recovery code signs in once, is recorded with the count left, and cannot sign in again."""
    code = enrolled_user.recovery_codes[0]
    sign_in_with_password(client, enrolled_user.email)

    response = submit_code(client, code)

    assert response.status_code == 302
    assert signed_in_user_id(client) == str(enrolled_user.pk)
    assert client.session[DEVICE_ID_SESSION_KEY].startswith("accounts.recoverycodedevice/")
    assert client.get(reverse("account")).status_code == 200
    [record] = audit_log.records("recovery_code_used")
    assert record["actor"]["id"] == enrolled_user.pk
    assert record["target"]["email"] == enrolled_user.email
    assert record["details"] == {"remaining": 9}
    assert record["ip"] == "127.0.0.1"
    assert code not in audit_log.path.read_text()

    client.post(reverse("account_logout"))
    sign_in_with_password(client, enrolled_user.email)
    again = submit_code(client, code)
    assert again.status_code == 200
    assert b"already used" in again.content
    assert signed_in_user_id(client) is None


def test_wrong_code_keeps_user_out(clock, client, enrolled_user, audit_log):
    """A wrong code shows an error, keeps the request anonymous and records one two_fa_failure."""
    sign_in_with_password(client, enrolled_user.email)

    response = submit_code(client, totp_code(EPOCH, 5))

    assert response.status_code == 200
    assert b"That code is not valid" in response.content
    assert b"4 attempts left" in response.content
    assert signed_in_user_id(client) is None
    [record] = audit_log.records("two_fa_failure")
    assert record["actor"] is None
    assert record["target"] == {"type": "user", "id": enrolled_user.pk, "email": enrolled_user.email}
    assert record["details"] == {"reason": "wrong_code"}
    assert record["ip"] == "127.0.0.1"
    assert totp_code(EPOCH, 5) not in audit_log.path.read_text()
    # The code step records its own event, never a second login_failure.
    assert audit_log.records("login_failure") == []


def test_replayed_code_recorded(clock, client, enrolled_user, audit_log):
    """A code that already signed in is refused at the next sign-in and recorded as replayed."""
    code = totp_code(EPOCH)
    sign_in_with_password(client, enrolled_user.email)
    submit_code(client, code)
    client.post(reverse("account_logout"))

    sign_in_with_password(client, enrolled_user.email)
    response = submit_code(client, code)

    assert b"already used" in response.content
    assert signed_in_user_id(client) is None
    assert audit_log.records("two_fa_failure")[-1]["details"] == {"reason": "replayed"}


def test_malformed_code_is_form_error(clock, client, enrolled_user, audit_log):
    """Input that is no code gets a format message and is not counted as a failure."""
    sign_in_with_password(client, enrolled_user.email)

    response = submit_code(client, "12ab")

    assert b"Enter the 6-digit code" in response.content
    assert audit_log.records("two_fa_failure") == []


def test_pending_sign_in_expires(clock, client, enrolled_user):
    """Five minutes after the password, the code step is gone: even the right code does not sign in."""
    sign_in_with_password(client, enrolled_user.email)

    clock.shift(300)
    response = submit_code(client, totp_code(EPOCH + 300))

    assert response.status_code == 302
    assert response["Location"] == reverse("account_login")
    assert signed_in_user_id(client) is None
    follow_up = client.get(reverse("two_factor_challenge"))
    assert follow_up["Location"] == reverse("account_login")


def test_pending_sign_in_valid_before_expiry(clock, client, enrolled_user):
    """Just under five minutes after the password the code step still works."""
    sign_in_with_password(client, enrolled_user.email)

    clock.shift(299)
    submit_code(client, totp_code(EPOCH + 299))

    assert signed_in_user_id(client) == str(enrolled_user.pk)


def test_five_wrong_codes_restart_sign_in(clock, client, enrolled_user, settings):
    """After five wrong codes the pending sign-in is dropped and the password is needed again."""
    settings.AXES_FAILURE_LIMIT = 20
    sign_in_with_password(client, enrolled_user.email)

    for attempt in range(4):
        clock.shift(60)  # past django-otp's throttle delay, which doubles per failure
        assert submit_code(client, "000000").status_code == 200
    clock.shift(60)
    fifth = submit_code(client, "000000")

    assert fifth.status_code == 302
    assert fifth["Location"] == reverse("account_login")
    clock.shift(60)
    after = submit_code(client, totp_code(EPOCH + 300))
    assert after["Location"] == reverse("account_login")
    assert signed_in_user_id(client) is None


def test_wrong_code_shares_password_lockout(clock, client, enrolled_user, audit_log):
    """Four wrong passwords, then the right one, then one wrong code: the (email, IP) pair is locked."""
    for _ in range(4):
        sign_in_with_password(client, enrolled_user.email, "wrong-password")
    assert sign_in_with_password(client, enrolled_user.email)["Location"] == reverse("two_factor_challenge")

    response = submit_code(client, "000000")

    assert response.status_code == 429
    assert signed_in_user_id(client) is None
    assert audit_log.events().count("login_failure") == 4
    assert audit_log.events().count("two_fa_failure") == 1
    assert audit_log.events().count("account_locked") == 1
    # Locked out: the right password no longer even reaches the code step.
    clock.shift(5)
    locked = sign_in_with_password(client, enrolled_user.email)
    assert locked.status_code == 429


def test_locked_pair_cannot_use_code_step(clock, client, enrolled_user, settings):
    """A pair locked after the password step was passed gets the lockout page at the code step."""
    sign_in_with_password(client, enrolled_user.email)
    other = client.__class__()
    for _ in range(5):
        sign_in_with_password(other, enrolled_user.email, "wrong-password")

    response = submit_code(client, totp_code(EPOCH))

    assert response.status_code == 429
    assert signed_in_user_id(client) is None


def test_code_step_rate_limited(clock, client, enrolled_user, audit_log):
    """More than ten submissions for one pending sign-in get 429 with Retry-After."""
    sign_in_with_password(client, enrolled_user.email)
    for _ in range(10):
        assert submit_code(client, "bad").status_code == 200

    response = submit_code(client, totp_code(EPOCH))

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert signed_in_user_id(client) is None
    [record] = audit_log.records("rate_limit_hit")
    assert record["details"]["limit"] == "two_fa_code"


def test_cancel_drops_pending_sign_in(clock, client, enrolled_user):
    """Cancel on the code step forgets the password step."""
    sign_in_with_password(client, enrolled_user.email)

    client.post(reverse("two_factor_challenge"), {"cancel": "1"})

    assert client.get(reverse("two_factor_challenge"))["Location"] == reverse("account_login")
    assert client.get(reverse("account_login")).status_code == 200


def test_login_page_resumes_code_step(clock, client, enrolled_user):
    """Opening the sign-in page during a pending sign-in leads back to the code step."""
    sign_in_with_password(client, enrolled_user.email)

    response = client.get(reverse("account_login"))

    assert response["Location"] == reverse("two_factor_challenge")


def test_challenge_without_pending_sign_in(client, db):
    """The code step without a password step sends the visitor to sign in."""
    response = client.get(reverse("two_factor_challenge"))

    assert response.status_code == 302
    assert response["Location"] == reverse("account_login")


def test_user_without_two_factor_signs_in_directly(client, make_user):
    """A user without 2FA is signed in by the password alone."""
    user = make_user("plain@example.com")

    response = sign_in_with_password(client, user.email)

    assert response["Location"] == reverse("home")
    assert signed_in_user_id(client) == str(user.pk)


def test_deactivated_during_code_step(clock, client, enrolled_user):
    """A user deactivated between the two steps cannot finish signing in."""
    sign_in_with_password(client, enrolled_user.email)
    enrolled_user.is_active = False
    enrolled_user.save()

    response = submit_code(client, totp_code(EPOCH))

    assert response["Location"] == reverse("account_login")
    assert signed_in_user_id(client) is None


def test_admin_login_goes_through_second_factor(clock, client, admin_user, enrol):
    """The admin's login page sends to the site sign-in, and the admin opens only after the code."""
    enrol(admin_user)

    login_page = client.get("/admin/login/?next=/admin/accounts/user/")
    assert login_page.status_code == 302
    assert login_page["Location"] == f"{reverse('account_login')}?next=%2Fadmin%2Faccounts%2Fuser%2F"
    # The admin's own form is never shown, so a POST to it signs nobody in.
    client.post("/admin/login/", {"username": admin_user.email, "password": PASSWORD})
    assert signed_in_user_id(client) is None

    sign_in_with_password(client, admin_user.email, next_url="/admin/")
    assert client.get("/admin/").status_code == 302
    response = submit_code(client, totp_code(EPOCH))

    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_admin_login_rejects_external_next(client, db):
    """An off-site next URL on the admin login falls back to the admin index."""
    response = client.get("/admin/login/?next=https://example.net/")

    assert response["Location"] == f"{reverse('account_login')}?next=%2Fadmin%2F"


def test_admin_login_for_non_admin_is_denied(client, make_user):
    """A signed-in user without the Admin role gets 403 from the admin login, not a redirect loop."""
    client.force_login(make_user("viewer@example.com"))

    response = client.get("/admin/login/")

    assert response.status_code == 403


def test_unverified_session_of_enrolled_user_ended(clock, client, enrolled_user, audit_log):
    """A session signed in without the second factor (here force_login) is ended on its next request."""
    client.force_login(enrolled_user)

    response = client.get(reverse("account"))

    assert response.status_code == 302
    assert signed_in_user_id(client) is None
    user_session = UserSession.objects.get(user=enrolled_user)
    assert user_session.end_reason == "two_factor_required"
    [record] = audit_log.records("session_revoked")
    assert record["details"]["reason"] == "two_factor_required"



def test_reset_during_code_step(clock, client, enrolled_user):
    """A 2FA reset between the password and the code restarts the sign-in instead of counting failures."""
    from accounts.twofactor import devices

    sign_in_with_password(client, enrolled_user.email)
    devices.disable(enrolled_user)

    response = submit_code(client, totp_code(EPOCH))

    assert response["Location"] == reverse("account_login")
    assert signed_in_user_id(client) is None
