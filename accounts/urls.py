from django.urls import include, path

from accounts import reauth, views

urlpatterns = [
    path("account/", views.account, name="account"),
    path("account/sessions/<int:session_id>/revoke/", views.revoke_session, name="revoke_session"),
    path("account/sessions/revoke-others/", views.revoke_other_sessions, name="revoke_other_sessions"),
    path("account/reauthenticate/", reauth.reauthenticate, name="reauthenticate"),
    path("", include("accounts.twofactor.urls")),
]
