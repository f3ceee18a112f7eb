from django.urls import path

from credentials import views

app_name = "credentials"

urlpatterns = [
    path("", views.index, name="index"),
    path("set/", views.set_value, name="set"),
    path("reveal/", views.reveal, name="reveal"),
    path("delete/", views.delete, name="delete"),
    path("health/", views.health, name="health"),
    path("oauth/<str:source>/disconnect/", views.disconnect, name="disconnect"),
]
