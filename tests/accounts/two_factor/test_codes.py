import pytest
from django.test import RequestFactory
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.twofactor import totp
from accounts.twofactor.models import RecoveryCode
from accounts.twofactor.recovery import normalize_recovery_code
from accounts.twofactor.verification import RECOVERY, REPLAYED, TOTP, WRONG_CODE, classify_code, verify_code
from tests.accounts.two_factor.conftest import EPOCH, totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_from_client():
    request = RequestFactory().post("/login/two-factor/")
    request.session = {}
    return request


def test_fixed_key_gives_rfc_code():
    """The fixed key produces the RFC 6238 reference value at t=59 (94287082, last six digits)."""
    assert totp_code(59) == "287082"


def test_current_code_accepted(clock, enrolled_user, request_from_client):
    """The code of the current step is accepted and sets last_t to that step."""
    result = verify_code(request_from_client, enrolled_user, totp_code(EPOCH))

    assert result.accepted
    assert result.method == TOTP
    assert TOTPDevice.objects.get(user=enrolled_user).last_t == EPOCH // 30


@pytest.mark.parametrize("offset", [-1, 1])
def test_adjacent_step_accepted(clock, enrolled_user, request_from_client, offset):
    """Codes of the previous and the next 30-second step are accepted."""
    assert verify_code(request_from_client, enrolled_user, totp_code(EPOCH, offset)).accepted


@pytest.mark.parametrize("offset", [-2, 2])
def test_two_steps_off_rejected(clock, enrolled_user, request_from_client, offset):
    """A code two steps away from now is refused as a wrong code."""
    result = verify_code(request_from_client, enrolled_user, totp_code(EPOCH, offset))

    assert not result.accepted
    assert result.failure == WRONG_CODE


def test_replayed_code_rejected(clock, enrolled_user, request_from_client):
    """An accepted code is refused when sent again within its window."""
    code = totp_code(EPOCH)
    assert verify_code(request_from_client, enrolled_user, code).accepted

    clock.shift(10)
    again = verify_code(request_from_client, enrolled_user, code)

    assert not again.accepted
    assert again.failure == REPLAYED


def test_older_code_rejected_after_newer(clock, enrolled_user, request_from_client):
    """After the next step's code is accepted, the current step's code no longer passes."""
    assert verify_code(request_from_client, enrolled_user, totp_code(EPOCH, 1)).accepted

    result = verify_code(request_from_client, enrolled_user, totp_code(EPOCH))

    assert not result.accepted
    assert result.failure == REPLAYED


def test_code_after_window_moves_on(clock, enrolled_user, request_from_client):
    """A used code stays refused after its step has passed, and the new step's code passes."""
    code = totp_code(EPOCH)
    assert verify_code(request_from_client, enrolled_user, code).accepted

    clock.shift(60)

    assert not verify_code(request_from_client, enrolled_user, code).accepted
    clock.shift(2)  # the failed attempt throttles the device for one second
    assert verify_code(request_from_client, enrolled_user, totp_code(EPOCH + 62)).accepted


def test_throttled_device_refuses_correct_code(clock, enrolled_user, request_from_client):
    """Right after a wrong code the device refuses even a correct one for a second, uncounted."""
    assert not verify_code(request_from_client, enrolled_user, "000000").accepted

    result = verify_code(request_from_client, enrolled_user, totp_code(EPOCH))

    assert result.failure == "throttled"
    assert not result.counted
    clock.shift(2)
    assert verify_code(request_from_client, enrolled_user, totp_code(EPOCH)).accepted


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("123456", (TOTP, "123456")),
        (" 123 456 ", (TOTP, "123456")),
        ("123-456", (TOTP, "123456")),
        ("１２３４５６", None),  # full-width digits, which int() would accept
        ("12345", None),
        ("+12345", None),
        ("1234567", None),
        ("ABCD-EFGH-JKMN", (RECOVERY, "abcdefghjkmn")),
        ("abcd efgh jkmn", (RECOVERY, "abcdefghjkmn")),
        ("", None),
        ("x" * 64, None),
    ],
)
def test_code_shapes(raw, expected):
    """Input is classified as a TOTP code, a recovery code, or neither."""
    assert classify_code(raw) == expected


def test_lookalike_characters_normalised():
    """I, L and O typed by hand count as 1, 1 and 0 in a recovery code."""
    assert normalize_recovery_code("ILO0-1111-2222") == "1100" + "11112222"


def test_verify_rejects_malformed_code(enrolled_user, request_from_client):
    """verify_code raises ValueError for input that is no code at all; forms reject it first."""
    with pytest.raises(ValueError, match="six digits"):
        verify_code(request_from_client, enrolled_user, "not a code")


def test_recovery_codes_stored_as_salted_hashes(enrolled_user, make_user, enrol):
    """Only salted PBKDF2 hashes are stored; the codes themselves appear nowhere in the table."""
    codes = enrolled_user.recovery_codes
    rows = list(RecoveryCode.objects.filter(device__user=enrolled_user).values_list("code_hash", flat=True))

    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert len(rows) == 10
    for row in rows:
        assert row.startswith("pbkdf2_sha256$10000$")
        for code in codes:
            assert code.replace("-", "") not in row
    salts = {row.split("$")[2] for row in rows}
    assert len(salts) == 10


def test_recovery_code_single_use(enrolled_user, request_from_client):
    """A recovery code passes once; the second use is refused as replayed."""
    code = enrolled_user.recovery_codes[3]

    first = verify_code(request_from_client, enrolled_user, code.upper())
    second = verify_code(request_from_client, enrolled_user, code)

    assert first.accepted
    assert first.method == RECOVERY
    assert first.device.remaining() == 9
    assert not second.accepted
    assert second.failure == REPLAYED


def test_unknown_recovery_code_rejected(enrolled_user, request_from_client):
    """A well-formed recovery code that was never issued is a wrong code."""
    result = verify_code(request_from_client, enrolled_user, "0000-0000-0000")

    assert not result.accepted
    assert result.failure == WRONG_CODE


def test_recovery_code_of_other_user_rejected(enrolled_user, make_user, enrol, request_from_client):
    """One user's recovery code does not work for another user."""
    bob = make_user("bob@example.com")
    enrol(bob)

    assert not verify_code(request_from_client, bob, enrolled_user.recovery_codes[0]).accepted


def test_enrolment_step_matching():
    """match_time_step finds the step within one step either side, honouring min_step."""
    at = EPOCH
    step = EPOCH // 30

    assert totp.match_time_step("3132333435363738393031323334353637383930", int(totp_code(at, 1)), at=at) == step + 1
    assert totp.match_time_step("3132333435363738393031323334353637383930", int(totp_code(at, 2)), at=at) is None
    assert totp.match_time_step(
        "3132333435363738393031323334353637383930", int(totp_code(at)), at=at, min_step=step + 1
    ) is None


def test_secret_display_is_base32():
    """The manual-entry secret is the key in base32, grouped by four."""
    assert totp.secret_for_display("3132333435363738393031323334353637383930") == (
        "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"
    )
