"""Limits on signing in, registering and password resets, counted atomically in the shared cache (so every
worker and host counts together): per address (the API's "auth" scope, AUTH_THROTTLE_RATE) and per account
(AUTH_ACCOUNT_THROTTLE_RATE), so a guesser spreading attempts over many addresses still meets a limit."""
import hashlib

from core.throttles import CountingRateThrottle, CountingScopedRateThrottle


class AccountThrottle(CountingRateThrottle):
    """Attempts against one login (the email or username in the request), wherever they come from."""

    scope = "auth_account"

    def get_cache_key(self, request, view):
        data = getattr(request, "data", None)
        data = data if hasattr(data, "get") else request.POST
        who = str(data.get("email") or data.get("username") or "").strip().lower()
        if not who:
            return None
        return self.cache_format % {"scope": self.scope, "ident": hashlib.sha256(who.encode()).hexdigest()}


class AuthThrottled:
    """For API views: both limits."""

    throttle_classes = [CountingScopedRateThrottle, AccountThrottle]
    throttle_scope = "auth"


def auth_attempt_allowed(request) -> bool:
    """For web pages: whether this POST is within both limits (it counts against them)."""
    view = AuthThrottled()
    return all(throttle().allow_request(request, view) for throttle in AuthThrottled.throttle_classes)
