from django.urls import include, path

from accounts import reauth, views
from accounts.invites import views as invite_views
from accounts.oauth import views as oauth_views

urlpatterns = [
    path("account/", views.account, name="account"),
    path("account/sessions/<int:session_id>/revoke/", views.revoke_session, name="revoke_session"),
    path("account/sessions/revoke-others/", views.revoke_other_sessions, name="revoke_other_sessions"),
    path("account/linked/<int:account_id>/unlink/", oauth_views.unlink_account, name="oauth_unlink"),
    path("invite/accept/", invite_views.accept, name="invite_accept"),
    path("invite/<str:token>/", invite_views.open_invite, name="invite_open"),
    path("account/reauthenticate/", reauth.reauthenticate, name="reauthenticate"),
    path("", include("accounts.twofactor.urls")),
]
