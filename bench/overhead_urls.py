"""URLs of bench/middleware_overhead.py: a bare view and a minimal API view beside the site's own URLs."""

from django.db import connection
from django.http import HttpResponse
from django.urls import include, path

from accounts.api.base import ApiView


def bare(request):
    return HttpResponse(b"ok", content_type="text/plain")


def one_query(request):
    # The cost of reaching the database at all: a connection per request
    # on SQLite (CONN_MAX_AGE 0), a kept connection on PostgreSQL.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return HttpResponse(b"ok", content_type="text/plain")


class PingView(ApiView):
    """The smallest API endpoint: authentication, the per-key rate limit and a JSON body, nothing else."""

    def get(self, request):
        return {"ok": True}


urlpatterns = [
    path("bench/bare", bare),
    path("bench/query", one_query),
    path("bench/api", PingView.as_view()),
    path("", include("dango_site.urls")),
]
