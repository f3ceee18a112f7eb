from django.http import HttpRequest, HttpResponse

from accounts.bruteforce.handler import release_reservations


class SignInReservationMiddleware:
    """Give back the lockout places a request still holds when its response is ready.

    A password check holds one of its (email, IP) pair's places from before
    the check until it fails or signs in; a check that did neither (a
    successful re-authentication) releases its place here, so it cannot
    count against the pair afterwards.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            release_reservations(request)
