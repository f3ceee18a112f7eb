from django.http import HttpRequest, HttpResponse

from accounts.bruteforce.handler import release_reservations


class SignInReservationMiddleware:
    """Release the lockout places a request still has when its response is ready.

    A password check takes one of its (email, IP) pair's places from before
    the check until it fails or signs the user in. A check that did neither,
    such as a successful re-authentication, releases its place here, so it
    does not count against the pair afterwards.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            release_reservations(request)
