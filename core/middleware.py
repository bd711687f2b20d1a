"""Guards at the edge of every request: an address (path or query) carrying a NUL or other control character
is refused with 400 before any view or database sees it; every response carries the Content-Security-Policy
the settings give (CSP)."""
from urllib.parse import urlsplit

from django.conf import settings

from .errors import api_error, bad_request

# C0 control characters, but tab, which browsers and proxies may leave in a query.
CONTROL = {chr(c) for c in range(32)} - {"\t"} | {"\x7f"}


class RequestGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        address = request.path + "".join(f"{k}={v}" for k, values in request.GET.lists() for v in values)
        if CONTROL.intersection(address):
            if request.path.startswith("/api/"):
                return api_error(400, "bad_request", "The address contains a character that is not allowed "
                                                     "(a control character such as NUL).")
            return bad_request(request)
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Sets the CSP header from settings.CONTENT_SECURITY_POLICY (directive: sources) unless a view set its
    own. The Stripe API base the card form talks to (a local double in the demo and tests, set at run time)
    and STRIPE_JS_URL's origin are allowed to serve scripts and frames and be called."""

    STRIPE_DIRECTIVES = ("script-src", "connect-src", "frame-src")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            header = self.header()
            if header:
                response["Content-Security-Policy"] = header
        return response

    def header(self) -> str:
        policy = {name: list(sources) for name, sources in getattr(settings, "CONTENT_SECURITY_POLICY", {}).items()}
        for setting in ("STRIPE_API_BASE", "STRIPE_JS_URL"):  # the double, or Stripe.js served from elsewhere
            base = urlsplit(getattr(settings, setting, "") or "")
            origin = f"{base.scheme}://{base.netloc}"
            for name in self.STRIPE_DIRECTIVES if base.scheme and base.netloc else ():
                sources = policy.setdefault(name, ["'self'"])
                if origin not in sources:
                    sources.append(origin)
        return "; ".join(f"{name} {' '.join(sources)}" for name, sources in policy.items())
