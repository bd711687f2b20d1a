"""Rate limits that hold across worker processes and hosts: a fixed-window counter in the shared cache,
taken with one atomic increment (Redis INCR) before the request is let through. DRF's own throttles read a
list of past requests and write it back, so two workers reading at once both let a request through."""
import time

from django.core.cache import cache
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle


def window_count(key: str, seconds: int) -> int:
    """One more in the current window of `seconds` for `key`; returns the count including this one."""
    window = f"{key}:{int(time.time() // seconds)}"
    cache.add(window, 0, seconds + 1)
    try:
        return cache.incr(window)
    except ValueError:  # the window expired between add and incr
        cache.add(window, 1, seconds + 1)
        return 1


class CountingRateThrottle(SimpleRateThrottle):
    """A SimpleRateThrottle counted atomically instead of by a history list: a base for throttles of our own."""

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        return window_count(self.key, self.duration) <= self.num_requests

    def wait(self):
        return self.duration - time.time() % self.duration


class CountingScopedRateThrottle(ScopedRateThrottle, CountingRateThrottle):
    """ScopedRateThrottle (per address, per view's throttle_scope), counted atomically: ScopedRateThrottle
    picks the rate from the view, then the counting allow_request above decides."""

    def allow_request(self, request, view):
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return CountingRateThrottle.allow_request(self, request, view)
