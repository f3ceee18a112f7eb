from django.urls import path

from accounts.apikeys import views

urlpatterns = [
    path("api-keys/new/", views.create_key, name="api_key_create"),
    path("api-keys/<int:key_id>/revoke/", views.revoke_key, name="api_key_revoke"),
]
