"""Message storage whose cookie carries the ``__Host-`` prefix.

Django names the messages cookie ``messages`` and offers no setting to
rename it. Over HTTPS the project gives every cookie the ``__Host-`` prefix,
which browsers accept only when it is Secure, host-only and on path ``/``, so
a sibling subdomain cannot plant or shadow it. The cookie takes its Secure,
HttpOnly and SameSite flags from the SESSION_COOKIE_* settings.
"""

from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.messages.storage.session import SessionStorage

HOST_PREFIXED_MESSAGES_COOKIE = "__Host-messages"


class HostPrefixedCookieStorage(CookieStorage):
    cookie_name = HOST_PREFIXED_MESSAGES_COOKIE


class HostPrefixedFallbackStorage(FallbackStorage):
    """Django's default message storage with the cookie renamed to ``__Host-messages``."""

    storage_classes = (HostPrefixedCookieStorage, SessionStorage)
