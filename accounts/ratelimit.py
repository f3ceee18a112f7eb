"""Fixed-window rate limits counted in the Django cache.

With Redis (REDIS_URL) the counter is one atomic INCR shared by every worker
and host. With the local-memory cache of the embedded default it is exact
within the single process that setting is meant for. Keys are hashed so
that emails and API keys never appear in cache key names.
"""

import hashlib
import math
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.http import JsonResponse
from django.template.response import TemplateResponse

from accounts import signals


@dataclass(frozen=True)
class RateLimit:
    name: str
    limit: int
    window: int  # seconds


@dataclass(frozen=True)
class RateLimitResult:
    allowed: bool
    count: int
    retry_after: int  # seconds until the window resets; 0 when allowed


def _cache_key(rate: RateLimit, key: str, window_start: int) -> str:
    digest = hashlib.sha256(f"{rate.name}:{key}".encode()).hexdigest()[:32]
    return f"dango:rl:{rate.name}:{window_start}:{digest}"


def hit(rate: RateLimit, key: str) -> RateLimitResult:
    """Count one attempt for ``key``; allowed while the window's count stays within the limit."""
    now = time.time()
    window_start = int(now // rate.window) * rate.window
    cache_key = _cache_key(rate, key, window_start)
    # add() creates the counter only if it is absent, then incr() is atomic
    # on Redis and under the cache's lock in local memory.
    cache.add(cache_key, 0, timeout=rate.window + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:
        # The key expired between add() and incr(); start the window again.
        cache.add(cache_key, 1, timeout=rate.window + 1)
        count = 1
    retry_after = max(1, math.ceil(window_start + rate.window - now))
    allowed = count <= rate.limit
    return RateLimitResult(allowed=allowed, count=count, retry_after=0 if allowed else retry_after)


def reset(rate: RateLimit, key: str) -> None:
    window_start = int(time.time() // rate.window) * rate.window
    cache.delete(_cache_key(rate, key, window_start))


def too_many_requests(request, rate: RateLimit, result: RateLimitResult, key_kind: str, json: bool = False):
    """Announce the refusal and build a 429 answer with Retry-After."""
    signals.rate_limit_hit.send(
        sender=RateLimit, request=request, limit=rate.name, key_kind=key_kind, retry_after=result.retry_after
    )
    message = f"Too many requests. Try again in {result.retry_after} seconds."
    if json:
        response = JsonResponse({"error": {"code": "rate_limited", "message": message}}, status=429)
    else:
        response = TemplateResponse(request, "429.html", {"message": message}, status=429)
    response["Retry-After"] = str(result.retry_after)
    return response
