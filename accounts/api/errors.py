"""JSON errors for the API: ``{"error": {"code": …, "message": …}}`` with a matching status.

The ``handler*`` functions are the project's error views, set in the root
URLconf. Under ``/api/`` they return JSON. Elsewhere they call Django's HTML
defaults. So an API client never has to parse an HTML page.
"""

import logging

from django.http import JsonResponse
from django.views import defaults

logger = logging.getLogger("accounts")

API_PATH_PREFIX = "/api/"


class ApiError(Exception):
    """An error response; raised anywhere below an API view."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JsonResponse:
    response = JsonResponse({"error": {"code": code, "message": message}}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    response["Cache-Control"] = "no-store"
    return response


def is_api_request(request) -> bool:
    return request.path == API_PATH_PREFIX.rstrip("/") or request.path.startswith(API_PATH_PREFIX)


def not_found_response(request) -> JsonResponse:
    return error_response(404, "not_found", f"There is no API endpoint at {request.path}. The endpoints are listed in "
                                            "docs/api.md.")


def bad_request(request, exception, template_name="400.html"):
    if is_api_request(request):
        return error_response(400, "bad_request", "The request could not be understood.")
    return defaults.bad_request(request, exception, template_name)


def permission_denied(request, exception, template_name="403.html"):
    if is_api_request(request):
        return error_response(403, "permission_denied", "You are not allowed to do this.")
    return defaults.permission_denied(request, exception, template_name)


def page_not_found(request, exception, template_name="404.html"):
    if is_api_request(request):
        return not_found_response(request)
    return defaults.page_not_found(request, exception, template_name)


def server_error(request, template_name="500.html"):
    if is_api_request(request):
        # Django has already logged the exception on the django.request logger.
        return error_response(500, "server_error", "The server failed to handle the request. The error was logged; "
                                                   "try again in a moment.")
    return defaults.server_error(request, template_name)
