"""Redirect targets taken from the request (``next=``).

Only paths on this site are followed: an absolute URL, even to a host in
ALLOWED_HOSTS, falls back to the default, so a crafted link cannot send a
user who just signed in to another site.
"""

from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme


def is_site_path(url: str | None) -> bool:
    """Return whether ``url`` is a path on this site, such as ``/account/?tab=2``."""
    if not url or not url.startswith("/"):
        return False
    # With no allowed hosts Django accepts only URLs without a host, and it
    # also rejects the "//host" and "/\\host" forms that browsers treat as hosts.
    return url_has_allowed_host_and_scheme(url, allowed_hosts=None)


def safe_next_url(url: str | None, default: str = "home") -> str:
    """Return ``url`` when it is a path on this site, else the URL of ``default``."""
    return url if is_site_path(url) else resolve_url(default)
