"""Guards for views: ``permission_required`` and ``PermissionRequiredMixin``.

Both take dotted permission names and look them up when the view module is
imported, so a misspelt name fails at start-up instead of denying everyone.
A signed-in user without the permission gets 403 (HTML or JSON by Accept);
an anonymous request is sent to the login page, or gets 401 when it asks for
JSON.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.template.response import TemplateResponse

from rbac.permissions import get_permission
from rbac.signals import permission_denied


def wants_json(request) -> bool:
    accept = request.headers.get("Accept", "")
    if request.path.startswith("/api/"):
        return True
    return "application/json" in accept and "text/html" not in accept


def has_permission(user, name: str) -> bool:
    permission = get_permission(name)
    return bool(user and user.is_active and user.has_perm(permission.perm))


def deny(request, names: tuple[str, ...]):
    """Build the answer for a request that lacks ``names``, announcing the denial."""
    user = request.user
    if not user.is_authenticated:
        if wants_json(request):
            return JsonResponse(
                {"error": {"code": "not_authenticated", "message": "Sign in or send an API key."}}, status=401
            )
        return redirect_to_login(request.get_full_path())

    missing = [name for name in names if not has_permission(user, name)]
    permission_denied.send(sender=deny, request=request, user=user, permission=", ".join(missing))
    message = f"Your role does not include the permission {', '.join(missing)}."
    if wants_json(request):
        return JsonResponse({"error": {"code": "permission_denied", "message": message}}, status=403)
    return TemplateResponse(request, "403.html", {"message": message, "missing": missing}, status=403)


def permission_required(*names: str):
    for name in names:
        get_permission(name)

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.user.is_authenticated and all(has_permission(request.user, n) for n in names):
                return view(request, *args, **kwargs)
            return deny(request, names)

        wrapper.required_permissions = names
        return wrapper

    return decorator


class PermissionRequiredMixin:
    """Class-based twin of ``permission_required``; set ``required_permissions``."""

    required_permissions: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.required_permissions:
            raise TypeError(f"{cls.__name__} must set required_permissions to one or more permission names.")
        for name in cls.required_permissions:
            get_permission(name)

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and all(has_permission(request.user, n) for n in self.required_permissions):
            return super().dispatch(request, *args, **kwargs)
        return deny(request, tuple(self.required_permissions))
