"""Rate limits that hold across worker processes and hosts: a sliding-window counter in the shared cache,
taken with one atomic increment (Redis INCR) before the request is let through. DRF's own throttles read a
list of past requests and write it back, so two workers reading at once both let a request through.

A fixed window alone lets twice the limit through around a window's end (a burst at 11:59:59 and another at
12:00:00 meet two windows). So the count is the sliding estimate: this window's count plus the last window's
weighted by how much of it still lies within one window of now. Requests refused count too, so a client that
keeps hammering stays limited."""
import time

from django.core.cache import cache
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle


def window_count(key: str, seconds: int) -> float:
    """One more for `key`; returns the requests in the last `seconds` including this one, estimated from the
    current fixed window's count and the previous one's share of the sliding window."""
    now = time.time()
    number = int(now // seconds)
    window = f"{key}:{number}"
    cache.add(window, 0, 2 * seconds + 1)  # kept through the next window, which weighs it
    try:
        current = cache.incr(window)
    except ValueError:  # the window expired between add and incr
        cache.add(window, 1, 2 * seconds + 1)
        current = 1
    previous = cache.get(f"{key}:{number - 1}") or 0
    return current + previous * (1 - (now % seconds) / seconds)


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
