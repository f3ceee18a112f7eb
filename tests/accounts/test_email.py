import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import User
from tests.accounts.helpers import PASSWORD, is_signed_in, sign_in

pytestmark = pytest.mark.django_db


def test_email_stored_lower_case(make_user):
    """create_user stores the whole address lower-cased and stripped."""
    user = make_user("  Alice@Example.COM ")
    assert user.email == "alice@example.com"
    assert User.objects.get(pk=user.pk).email == "alice@example.com"


@pytest.mark.parametrize("first,second", [("Alice@Example.com", "alice@example.com"), ("alice@example.com", "ALICE@EXAMPLE.COM")])
def test_second_account_in_other_case_rejected(make_user, first, second):
    """Two spellings of one address cannot make two accounts."""
    make_user(first)
    with pytest.raises(ValidationError) as caught:
        make_user(second)
    assert "email" in caught.value.message_dict
    assert User.objects.count() == 1


def test_save_normalises_email(make_user):
    """Saving a user through the model lower-cases an email set by hand."""
    user = make_user("bob@example.com")
    user.email = "Bob.Smith@Example.com"
    user.save()
    assert User.objects.get(pk=user.pk).email == "bob.smith@example.com"


def test_database_rejects_case_duplicate(make_user):
    """Rows written around save() still cannot duplicate an address in another case."""
    make_user("alice@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.bulk_create([User(email="ALICE@example.com")])


def test_natural_key_lookup_ignores_case(make_user):
    """get_by_natural_key finds the user by any spelling of the address."""
    user = make_user("alice@example.com")
    assert User.objects.get_by_natural_key("Alice@EXAMPLE.com") == user


def test_authenticate_ignores_case(make_user):
    """authenticate() accepts the address in any case."""
    user = make_user("alice@example.com")
    request = RequestFactory().post("/accounts/login/")
    assert authenticate(request, email="ALICE@Example.Com", password=PASSWORD) == user


@pytest.mark.parametrize("typed", ["Alice@Example.com", "ALICE@EXAMPLE.COM", " alice@example.com "])
def test_login_form_ignores_case(client, make_user, typed):
    """The sign-in form accepts the address in any case."""
    make_user("alice@example.com")
    response = sign_in(client, typed)
    assert response.status_code == 302
    assert is_signed_in(client)


def test_login_form_accepts_localhost_in_upper_case(client, make_user):
    """The first Admin's address admin@localhost signs in even when typed in capitals."""
    admin = make_user("admin@localhost", role="admin")
    response = sign_in(client, "Admin@LOCALHOST")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(admin.pk)
    # Admins must have two-factor authentication, so the signed-in Admin's next stop is enrolment.
    home = client.get(reverse("home"))
    assert home.status_code == 302
    assert home["Location"] == reverse("two_factor_enable")


def test_login_with_wrong_password_fails(client, make_user):
    """A wrong password keeps the client anonymous and shows the form again."""
    make_user("alice@example.com")
    response = sign_in(client, "Alice@Example.com", "Wrong-Horse-42")
    assert response.status_code == 200
    assert not is_signed_in(client)
