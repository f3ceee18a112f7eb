"""URLs for the view-guard tests: the site's own URLs plus guarded test views."""

from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views import View

from dango_site.urls import urlpatterns as site_urlpatterns
from rbac.decorators import PermissionRequiredMixin, permission_required


@permission_required("source.view")
def view_sources(request):
    return HttpResponse("sources")


@permission_required("source.view", "source.manage")
def manage_sources(request):
    return HttpResponse("manage")


class AuditLogView(PermissionRequiredMixin, View):
    required_permissions = ("audit.view",)

    def get(self, request):
        return HttpResponse("audit")


def api_users(request):
    return JsonResponse({"users": []})


api_users_guarded = permission_required("users.view")(api_users)

urlpatterns = [
    path("guarded/sources/", view_sources),
    path("guarded/manage/", manage_sources),
    path("guarded/audit/", AuditLogView.as_view()),
    path("api/users/", api_users_guarded),
    *site_urlpatterns,
]
