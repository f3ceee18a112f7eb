from hardening import conf


class PermissionsPolicyMiddleware:
    """Add the Permissions-Policy header (DANGO_PERMISSIONS_POLICY) to every response.

    Django 5.2 sets the other security headers itself (SecurityMiddleware,
    XFrameOptionsMiddleware) and django-csp sets Content-Security-Policy; this
    is the one it lacks. A view that sets the header keeps its own value.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = conf.get_permissions_policy()
        if policy and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = policy
        return response
