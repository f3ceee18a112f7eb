from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views
from hardening.liveness import healthz

urlpatterns = [
    path("", account_views.home, name="home"),
    path("", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("credentials/", include("credentials.urls")),
]
