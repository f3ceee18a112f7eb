from django.urls import path

from accounts.twofactor import views

urlpatterns = [
    path("login/two-factor/", views.challenge, name="two_factor_challenge"),
    path("account/two-factor/enable/", views.enable, name="two_factor_enable"),
    path("account/two-factor/disable/", views.disable, name="two_factor_disable"),
    path("account/two-factor/recovery-codes/", views.regenerate_recovery_codes, name="two_factor_recovery_codes"),
]
