"""URLs whose views fail while secrets are in reach, for the error report tests."""

from django.urls import include, path

from credentials.actions import get_store


def fail_with_secret_in_message(request):
    secret = get_store().get("sources.stripe.api_key")
    raise ValueError(f"Stripe rejected the key {secret}")


def fail_with_secret_in_variable(request):
    stripe_key = get_store().get("sources.stripe.api_key")
    connection_url = f"postgres://loader:{stripe_key}@127.0.0.1/dango"
    raise RuntimeError(f"cannot connect, {len(connection_url)} characters")


urlpatterns = [
    path("fail/message/", fail_with_secret_in_message),
    path("fail/variable/", fail_with_secret_in_variable),
    path("", include("dango_site.urls")),
]
