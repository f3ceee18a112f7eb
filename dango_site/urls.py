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
    path("account/", include("accounts.apikeys.urls")),
    path("api/", include("accounts.api.urls")),
]

# Error views answer in JSON under /api/ and with Django's HTML pages elsewhere.
handler400 = "accounts.api.errors.bad_request"
handler403 = "accounts.api.errors.permission_denied"
handler404 = "accounts.api.errors.page_not_found"
handler500 = "accounts.api.errors.server_error"
