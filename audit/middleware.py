import secrets

from audit.context import current_request

REQUEST_ID_HEADER = "X-Request-ID"


class RequestContextMiddleware:
    """Give each request an id and make it visible to audit receivers.

    The id is generated here rather than taken from a client header, so a
    client cannot make two audit records share an id. It is returned in the
    ``X-Request-ID`` response header for support requests.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = secrets.token_hex(16)
        token = current_request.set(request)
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(token)
        response[REQUEST_ID_HEADER] = request.request_id
        return response
